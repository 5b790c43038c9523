// Package controlplane starts the real kube-apiserver and etcd, built by `make controlplane` from
// the pinned Kubernetes release, with the Rebalancer's CRDs installed, for tests.
//
// A test that needs the API server fails (it is never skipped) when the binaries are missing:
// `make test` builds them.
package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	rebalancerv1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// EnvBinDir names the environment variable that points at the built control-plane binaries.
const EnvBinDir = "REBALANCER_CONTROLPLANE"

// Env is a running control plane.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *k8sruntime.Scheme
	env    *envtest.Environment
}

// RepoRoot is the repository's top directory, found from this file's location.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("controlplane: cannot locate source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BinDir is where the control-plane binaries are: $REBALANCER_CONTROLPLANE, or bin/controlplane.
func BinDir() string {
	if d := os.Getenv(EnvBinDir); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "bin", "controlplane")
}

// Scheme returns a scheme with the built-in kinds and the Rebalancer's.
func Scheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := rebalancerv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts kube-apiserver and etcd with the CRDs from manifests/crds installed and established.
// Call Stop when done (in TestMain, or through t.Cleanup).
func Start() (*Env, error) {
	return StartWith(filepath.Join(RepoRoot(), "manifests", "crds"))
}

// StartWith starts kube-apiserver and etcd with the CRDs of the given directories installed (as
// plain objects, as Helm installs a chart's crds/) and established.
func StartWith(crdDirs ...string) (*Env, error) {
	dir := BinDir()
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s not found in %s (run `make controlplane`, which `make test` does): %w", name, dir, err)
		}
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", dir, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("building client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: env}, nil
}

// CRDs are the custom resources the control plane serves, as installed from manifests/crds.
func (e *Env) CRDs() []schema.GroupVersionResource {
	var out []schema.GroupVersionResource
	for _, crd := range e.env.CRDs {
		for _, v := range crd.Spec.Versions {
			out = append(out, schema.GroupVersionResource{Group: crd.Spec.Group, Version: v.Name, Resource: crd.Spec.Names.Plural})
		}
	}
	return out
}

// Stop stops the control plane.
func (e *Env) Stop() error {
	return e.env.Stop()
}

// Tests is what Run needs of a *testing.M.
type Tests interface{ Run() int }

// Run is the body of a TestMain for tests against the control plane: it starts it, hands it to
// started (which may start more, and returns what to do after the tests, or nil), runs the tests,
// stops the control plane and returns the exit code for os.Exit.
func Run(m Tests, started func(*Env) (after func(code int), err error)) int {
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping control plane:", err)
		}
	}()
	after, err := started(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if after != nil {
		after(code)
	}
	return code
}

// AddUser provisions a user of the control plane (authenticated by a client certificate, in
// groups) and returns a client config that acts as that user: it can do what RBAC grants it.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding user %s: %w", name, err)
	}
	return u.Config(), nil
}
