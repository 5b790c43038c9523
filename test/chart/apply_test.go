package chart

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// warnings collects the API server's warnings (Pod Security, deprecated APIs).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// warningClient is a client of the test API server whose warnings land in w.
func warningClient(t *testing.T, w *warnings) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandlerWithContext = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createNamespace creates ns, enforcing Pod Security "restricted" when restricted is true.
func createNamespace(t *testing.T, name string, restricted bool) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if restricted {
		ns.Labels = map[string]string{
			"pod-security.kubernetes.io/enforce":         "restricted",
			"pod-security.kubernetes.io/enforce-version": "latest",
			"pod-security.kubernetes.io/warn":            "restricted",
			"pod-security.kubernetes.io/audit":           "restricted",
		}
	}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// installServiceMonitorCRD installs a minimal ServiceMonitor CRD (the schema is prometheus-
// operator's business; here the API server only needs to know the kind), once.
var installServiceMonitorCRD = sync.OnceValue(func() error {
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor", ListKind: "ServiceMonitorList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the ServiceMonitor CRD: %w", err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crd), got); err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
})

// TestServerSideDryRun applies every rendered object (hooks included) of the default values and
// every toggle with server-side dry-run to the real API server, in a namespace that enforces Pod
// Security "restricted": every object is accepted without a warning, and the pod of each
// Deployment is admitted (Pod Security admission enforces on pods, so each pod template is
// created as a Pod, also with dry-run).
func TestServerSideDryRun(t *testing.T) {
	if err := installServiceMonitorCRD(); err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	c := warningClient(t, w)
	ctx := context.Background()
	// The WorkloadSLO samples go to these namespaces (they must exist, as on a real cluster).
	createNamespace(t, "prod", true)
	createNamespace(t, "staging", true)
	for i, tc := range toggles {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("chart-%02d", i)
			createNamespace(t, ns, true)
			objs := render(t, ns, tc.values)
			for _, o := range objs {
				if err := c.Create(ctx, o.DeepCopy(), client.DryRunAll); err != nil {
					t.Errorf("%s %s/%s refused: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
				}
				if ws := w.take(); len(ws) > 0 {
					t.Errorf("%s %s/%s drew warnings: %s", o.GetKind(), o.GetNamespace(), o.GetName(), strings.Join(ws, "; "))
				}
				if o.GetKind() != "Deployment" {
					continue
				}
				p := podOf(t, o)
				if err := c.Create(ctx, p, client.DryRunAll); err != nil {
					t.Errorf("the pod of Deployment %s is not admitted in a restricted namespace: %v", o.GetName(), err)
				}
				if ws := w.take(); len(ws) > 0 {
					t.Errorf("the pod of Deployment %s drew warnings: %s", o.GetName(), strings.Join(ws, "; "))
				}
			}
		})
	}
}

// podOf is the Pod a Deployment's ReplicaSet would create.
func podOf(t *testing.T, o *unstructured.Unstructured) *corev1.Pod {
	t.Helper()
	d := &appsv1.Deployment{}
	typed(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), d)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        d.Name + "-dry-run",
			Namespace:   d.Namespace,
			Labels:      d.Spec.Template.Labels,
			Annotations: d.Spec.Template.Annotations,
		},
		Spec: d.Spec.Template.Spec,
	}
}

// TestRestrictedSecurityContexts spells out what Pod Security admission checks, so a failure
// says which field is missing even where the API server's message would be terse.
func TestRestrictedSecurityContexts(t *testing.T) {
	objs := render(t, releaseNamespace, "metrics: {secure: true}")
	var pods []*corev1.Pod
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			pods = append(pods, podOf(t, o))
		case "Pod":
			pods = append(pods, pod(t, objs, o.GetName()))
		}
	}
	if len(pods) != 3 {
		t.Fatalf("%d pods (evictor, scheduler, helm test), want 3", len(pods))
	}
	for _, p := range pods {
		psc := p.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and seccomp RuntimeDefault", p.Name, psc)
		}
		for _, c := range p.Spec.Containers {
			sc := c.SecurityContext
			ok := sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation &&
				sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem &&
				sc.Capabilities != nil && len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" && len(sc.Capabilities.Add) == 0
			if !ok {
				t.Errorf("%s/%s: securityContext %+v, want no privilege escalation, read-only root, drop ALL", p.Name, c.Name, sc)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: resources %+v, want cpu and memory requests and a memory limit", p.Name, c.Name, c.Resources)
			}
		}
	}
}
