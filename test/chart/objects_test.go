package chart

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// typed converts the rendered object of kind and name into out, failing when it is missing.
func typed(t *testing.T, objs []*unstructured.Unstructured, kind, name string, out any) {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		t.Fatalf("the chart rendered no %s %q", kind, name)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, out, true); err != nil {
		t.Fatalf("%s %q does not convert to its type (unknown or mistyped field?): %v", kind, name, err)
	}
}

func deployment(t *testing.T, objs []*unstructured.Unstructured, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	typed(t, objs, "Deployment", name, d)
	return d
}

func service(t *testing.T, objs []*unstructured.Unstructured, name string) *corev1.Service {
	t.Helper()
	s := &corev1.Service{}
	typed(t, objs, "Service", name, s)
	return s
}

// ingress is the chart's only Ingress, rebalancer.
func ingress(t *testing.T, objs []*unstructured.Unstructured) *networkingv1.Ingress {
	t.Helper()
	i := &networkingv1.Ingress{}
	typed(t, objs, "Ingress", "rebalancer", i)
	return i
}

func pod(t *testing.T, objs []*unstructured.Unstructured, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	typed(t, objs, "Pod", name, p)
	return p
}

func policy(t *testing.T, objs []*unstructured.Unstructured, name string) *v1alpha1.RebalancePolicy {
	t.Helper()
	p := &v1alpha1.RebalancePolicy{}
	typed(t, objs, "RebalancePolicy", name, p)
	return p
}

// rbacObjects are the rendered Roles, ClusterRoles and their bindings.
type rbacObjects struct {
	// rules by "ClusterRole/<name>" or "Role/<namespace>/<name>".
	rules map[string][]rbacv1.PolicyRule
	// bindings by "ClusterRoleBinding/<name>" or "RoleBinding/<namespace>/<name>".
	bindings map[string]binding
}

type binding struct {
	RoleRef  rbacv1.RoleRef
	Subjects []rbacv1.Subject
}

func rbacOf(t *testing.T, objs []*unstructured.Unstructured) rbacObjects {
	t.Helper()
	out := rbacObjects{rules: map[string][]rbacv1.PolicyRule{}, bindings: map[string]binding{}}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			r := &rbacv1.ClusterRole{}
			typed(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), r)
			out.rules["ClusterRole/"+r.Name] = r.Rules
		case "Role":
			r := &rbacv1.Role{}
			typed(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), r)
			out.rules["Role/"+r.Namespace+"/"+r.Name] = r.Rules
		case "ClusterRoleBinding":
			b := &rbacv1.ClusterRoleBinding{}
			typed(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), b)
			out.bindings["ClusterRoleBinding/"+b.Name] = binding{RoleRef: b.RoleRef, Subjects: b.Subjects}
		case "RoleBinding":
			b := &rbacv1.RoleBinding{}
			typed(t, []*unstructured.Unstructured{o}, o.GetKind(), o.GetName(), b)
			out.bindings["RoleBinding/"+b.Namespace+"/"+b.Name] = binding{RoleRef: b.RoleRef, Subjects: b.Subjects}
		}
	}
	return out
}
