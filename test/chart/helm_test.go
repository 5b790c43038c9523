package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/tinorodney/rebalancer/test/controlplane"
)

// EnvHelm names the environment variable that points at the helm binary (`make test` sets it).
const EnvHelm = "REBALANCER_HELM"

// The release the plain manifests are rendered for (the Makefile's install-manifests).
const (
	releaseName      = "rebalancer"
	releaseNamespace = "rebalancer-system"
)

func repoPath(elem ...string) string {
	return filepath.Join(append([]string{controlplane.RepoRoot()}, elem...)...)
}

func chartDir() string { return repoPath("charts", "rebalancer") }

// findHelm is $REBALANCER_HELM, or bin/helm, built from the pinned module by `make helm`.
func findHelm() (string, error) {
	path := os.Getenv(EnvHelm)
	if path == "" {
		path = repoPath("bin", "helm")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("helm not found at %s (set $%s or run `make helm`, which `make test` does): %w", path, EnvHelm, err)
	}
	return path, nil
}

// helmBinary is findHelm's answer; TestMain has already failed the package when there is none.
func helmBinary(t *testing.T) string {
	t.Helper()
	path, err := findHelm()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// runHelm runs helm with its state in temporary directories, so that it reads no user
// configuration and touches nothing outside the test. It returns stdout and stderr.
func runHelm(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Dir = controlplane.RepoRoot()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// valuesFile writes values (YAML) to a file for helm's -f.
func valuesFile(t *testing.T, values string) string {
	t.Helper()
	// Not t.TempDir(): its path holds the test's name, and helm splits --values at commas.
	dir, err := os.MkdirTemp("", "rebalancer-values-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// renderArgs are the arguments of `helm template` for values in namespace.
func renderArgs(t *testing.T, namespace, values string) []string {
	args := []string{"template", releaseName, chartDir(), "--namespace", namespace}
	if values != "" {
		args = append(args, "--values", valuesFile(t, values))
	}
	return args
}

// render renders the chart (hooks included, CRDs not) and decodes every object.
func render(t *testing.T, namespace, values string) []*unstructured.Unstructured {
	t.Helper()
	out, stderr, err := runHelm(t, renderArgs(t, namespace, values)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("decoding the rendered chart: %v\n%s", err, out)
	}
	return objs
}

// decodeObjects splits a multi-document YAML stream into objects, skipping empty documents.
func decodeObjects(stream string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// find returns the object of kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
