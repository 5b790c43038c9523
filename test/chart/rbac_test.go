package chart

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rbacOptions are the values that change the chart's RBAC.
type rbacOptions struct {
	secure                  bool
	evictorLeaderElection   bool
	schedulerLeaderElection bool
}

func rule(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	r := rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
	if len(names) > 0 {
		r.ResourceNames = names
	}
	return r
}

func s(v ...string) []string { return v }

var (
	read         = s("get", "list", "watch")
	tokenReviews = rule(s("authentication.k8s.io"), s("tokenreviews"), s("create"))
	accessReview = rule(s("authorization.k8s.io"), s("subjectaccessreviews"), s("create"))
)

// dashboardPaths are the non-resource URLs the evictor's dashboard serves (checked against
// evictor/dashboard by TestDashboardViewerCoversEveryPath).
var dashboardPaths = s("/dashboard", "/dashboard/", "/dashboard/index.html", "/dashboard/app.js", "/dashboard/style.css",
	"/api/v1/policies", "/api/v1/plan", "/api/v1/nodes", "/api/v1/budgets", "/api/v1/history")

// wantRules is the allow-list: every rule the chart may grant, by role.
func wantRules(o rbacOptions, ns string) map[string][]rbacv1.PolicyRule {
	evictor := []rbacv1.PolicyRule{
		rule(s("rebalancer.atarnet.org"), s("rebalancepolicies", "workloadslos", "nodeclasses"), read),
		rule(s("rebalancer.atarnet.org"), s("rebalancepolicies/status", "workloadslos/status", "nodeclasses/status"), s("update")),
		rule(s(""), s("nodes", "pods", "namespaces"), read),
		rule(s(""), s("pods/eviction"), s("create")),
		rule(s("policy"), s("poddisruptionbudgets"), read),
		rule(s("scheduling.k8s.io"), s("priorityclasses"), read),
		rule(s(""), s("services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"), read),
		rule(s("apps"), s("replicasets", "statefulsets"), read),
		rule(s("storage.k8s.io"), s("storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"), read),
		rule(s("metrics.k8s.io"), s("nodes", "pods"), s("get", "list")),
		rule(s("events.k8s.io"), s("events"), s("create", "patch")),
	}
	if o.secure {
		evictor = append(evictor, tokenReviews, accessReview)
	}
	want := map[string][]rbacv1.PolicyRule{
		"ClusterRole/rebalancer-evictor": evictor,
		"ClusterRole/rebalancer-scheduler": {
			rule(s("", "events.k8s.io"), s("events"), s("create", "patch", "update")),
			rule(s(""), s("nodes", "namespaces", "services", "replicationcontrollers"), read),
			rule(s(""), s("pods"), read),
			rule(s(""), s("bindings", "pods/binding"), s("create")),
			rule(s(""), s("pods/status"), s("patch", "update")),
			rule(s(""), s("pods/finalizers"), s("update")),
			rule(s(""), s("persistentvolumeclaims", "persistentvolumes"), s("get", "list", "watch", "update", "patch")),
			rule(s("apps"), s("replicasets", "statefulsets"), read),
			rule(s("policy"), s("poddisruptionbudgets"), read),
			rule(s("storage.k8s.io"), s("storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"), read),
			rule(s("resource.k8s.io"), s("deviceclasses", "resourceslices", "devicetaintrules"), read),
			rule(s("resource.k8s.io"), s("resourceclaims"), s("get", "list", "watch", "create", "update", "patch", "delete")),
			rule(s("resource.k8s.io"), s("resourceclaims/status"), s("get", "list", "watch", "update", "patch")),
			rule(s("resource.k8s.io"), s("resourceclaims/binding"), s("update", "patch")),
			tokenReviews,
			accessReview,
			rule(s("rebalancer.atarnet.org"), s("rebalancepolicies", "nodeclasses"), read),
			rule(s("metrics.k8s.io"), s("nodes", "pods"), s("get", "list")),
		},
		"ClusterRole/rebalancer-metrics-reader": {{NonResourceURLs: s("/metrics"), Verbs: s("get")}},
	}
	if o.secure {
		want["ClusterRole/rebalancer-dashboard-viewer"] = []rbacv1.PolicyRule{{NonResourceURLs: dashboardPaths, Verbs: s("get")}}
	}
	if o.evictorLeaderElection {
		want["Role/"+ns+"/rebalancer-evictor-leader-election"] = []rbacv1.PolicyRule{
			rule(s("coordination.k8s.io"), s("leases"), s("create")),
			rule(s("coordination.k8s.io"), s("leases"), s("get", "update"), "rebalancer-evictor.rebalancer.atarnet.org"),
		}
	}
	if o.schedulerLeaderElection {
		want["Role/"+ns+"/rebalancer-scheduler-leader-election"] = []rbacv1.PolicyRule{
			rule(s("coordination.k8s.io"), s("leases"), s("create")),
			rule(s("coordination.k8s.io"), s("leases"), s("get", "update"), "rebalancer-scheduler"),
		}
		want["Role/"+ns+"/rebalancer-evictor-scheduler-lease"] = []rbacv1.PolicyRule{
			rule(s("coordination.k8s.io"), s("leases"), s("get"), "rebalancer-scheduler"),
		}
	}
	return want
}

// wantBindings: who gets which role.
func wantBindings(o rbacOptions, ns string) map[string]binding {
	sa := func(name string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	}
	ref := func(kind, name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: kind, Name: name}
	}
	want := map[string]binding{
		"ClusterRoleBinding/rebalancer-evictor":   {ref("ClusterRole", "rebalancer-evictor"), sa("rebalancer-evictor")},
		"ClusterRoleBinding/rebalancer-scheduler": {ref("ClusterRole", "rebalancer-scheduler"), sa("rebalancer-scheduler")},
		"RoleBinding/kube-system/rebalancer-scheduler-extension-apiserver-authentication-reader": {
			ref("Role", "extension-apiserver-authentication-reader"), sa("rebalancer-scheduler")},
	}
	if o.secure {
		// The helm test Pod's, for the duration of `helm test`.
		want["ClusterRoleBinding/rebalancer-test-metrics-reader"] = binding{ref("ClusterRole", "rebalancer-metrics-reader"), sa("rebalancer-test")}
	}
	if o.evictorLeaderElection {
		want["RoleBinding/"+ns+"/rebalancer-evictor-leader-election"] = binding{ref("Role", "rebalancer-evictor-leader-election"), sa("rebalancer-evictor")}
	}
	if o.schedulerLeaderElection {
		want["RoleBinding/"+ns+"/rebalancer-scheduler-leader-election"] = binding{ref("Role", "rebalancer-scheduler-leader-election"), sa("rebalancer-scheduler")}
		want["RoleBinding/"+ns+"/rebalancer-evictor-scheduler-lease"] = binding{ref("Role", "rebalancer-evictor-scheduler-lease"), sa("rebalancer-evictor")}
	}
	return want
}

// TestRBACAllowList: for the default values and every toggle the rendered roles and bindings are
// exactly the allow-list, and no rule has a wildcard or lets anyone delete pods.
func TestRBACAllowList(t *testing.T) {
	for _, tc := range toggles {
		t.Run(tc.name, func(t *testing.T) {
			got := rbacOf(t, render(t, releaseNamespace, tc.values))
			if diff := cmp.Diff(wantRules(tc.rbac, releaseNamespace), got.rules); diff != "" {
				t.Errorf("rules (-want,+got):\n%s", diff)
			}
			if diff := cmp.Diff(wantBindings(tc.rbac, releaseNamespace), got.bindings); diff != "" {
				t.Errorf("bindings (-want,+got):\n%s", diff)
			}
			for role, rules := range got.rules {
				for _, r := range rules {
					for _, v := range slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs) {
						if strings.Contains(v, "*") {
							t.Errorf("%s has a wildcard: %+v", role, r)
						}
					}
					deletes := slices.Contains(r.Verbs, "delete") || slices.Contains(r.Verbs, "deletecollection")
					if deletes && slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "pods") {
						t.Errorf("%s may delete pods: %+v", role, r)
					}
					if slices.Contains(r.Resources, "leases") && !slices.Equal(r.Verbs, s("create")) && len(r.ResourceNames) == 0 {
						t.Errorf("%s grants %v on leases without resourceNames", role, r.Verbs)
					}
				}
			}
		})
	}
}

// notGranted are the rights of the built-in system:kube-scheduler and system:volume-scheduler
// ClusterRoles (as kube-apiserver v1.37 creates them) that rebalancer-scheduler leaves out, with why.
var notGranted = []struct {
	why  string
	rule rbacv1.PolicyRule
}{
	{"no preemption, so no pod is ever deleted", rule(s(""), s("pods"), s("delete"))},
	{"leases are granted in the release namespace by rebalancer-scheduler-leader-election", rule(s("coordination.k8s.io"), s("leases"), s("create"))},
	{"the default scheduler's own Lease", rule(s("coordination.k8s.io"), s("leases"), s("get", "update", "list", "watch"), "kube-scheduler")},
	{"coordinated leader election is off by default", rule(s("coordination.k8s.io"), s("leasecandidates"), s("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"))},
	{"the extensions group no longer serves replicasets", rule(s("extensions"), s("replicasets"), read)},
}

// TestSchedulerRulesCoverBuiltinRoles compares rebalancer-scheduler with the roles kube-scheduler
// runs with in a real cluster of the pinned version: every right they grant is in ours, except
// those notGranted lists. A Kubernetes upgrade that gives kube-scheduler a new right fails here.
func TestSchedulerRulesCoverBuiltinRoles(t *testing.T) {
	ours := rbacOf(t, render(t, releaseNamespace, "")).rules["ClusterRole/rebalancer-scheduler"]
	var builtin []rbacv1.PolicyRule
	for _, name := range []string{"system:kube-scheduler", "system:volume-scheduler"} {
		cr := &rbacv1.ClusterRole{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, cr); err != nil {
			t.Fatalf("reading the built-in ClusterRole %s: %v", name, err)
		}
		builtin = append(builtin, cr.Rules...)
	}
	var excluded []rbacv1.PolicyRule
	for _, n := range notGranted {
		excluded = append(excluded, n.rule)
	}
	_, uncovered := validation.Covers(ours, builtin)
	for _, r := range uncovered {
		if ok, _ := validation.Covers(excluded, []rbacv1.PolicyRule{r}); !ok {
			t.Errorf("rebalancer-scheduler lacks %+v, which kube-scheduler holds: grant it or list it in notGranted with the reason", r)
		}
	}
	for _, n := range notGranted {
		if ok, _ := validation.Covers(ours, []rbacv1.PolicyRule{n.rule}); ok {
			t.Errorf("notGranted lists %+v (%s) but rebalancer-scheduler grants it", n.rule, n.why)
		}
		if ok, _ := validation.Covers(builtin, []rbacv1.PolicyRule{n.rule}); !ok {
			t.Errorf("notGranted lists %+v (%s) but kube-scheduler's roles no longer hold it: remove it", n.rule, n.why)
		}
	}
}

// TestDashboardViewerCoversEveryPath: RBAC matches non-resource URLs exactly here, so
// rebalancer-dashboard-viewer must name every file and API path the evictor serves.
func TestDashboardViewerCoversEveryPath(t *testing.T) {
	want := s("/dashboard", "/dashboard/")
	files, err := os.ReadDir(repoPath("evictor", "dashboard", "static"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want = append(want, "/dashboard/"+f.Name())
	}
	src, err := os.ReadFile(repoPath("evictor", "dashboard", "api.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`HandleFunc\("(/api/v1/[^"]+)"`).FindAllSubmatch(src, -1) {
		want = append(want, string(m[1]))
	}
	slices.Sort(want)
	got := slices.Clone(dashboardPaths)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dashboard paths (-served by evictor/dashboard,+granted by the chart):\n%s", diff)
	}
}

// TestRBACAuthorizes installs the default RBAC (for real) and asks the API server's authorizer
// what each ServiceAccount may do.
func TestRBACAuthorizes(t *testing.T) {
	ctx := context.Background()
	ns := "rbac-check"
	createNamespace(t, ns, false)
	for _, o := range render(t, ns, "metrics: {secure: true}") {
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if err := env.Client.Create(ctx, o); err != nil {
				t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
		}
	}
	evictor := "system:serviceaccount:" + ns + ":rebalancer-evictor"
	scheduler := "system:serviceaccount:" + ns + ":rebalancer-scheduler"
	tests := []struct {
		name    string
		user    string
		attrs   authorizationv1.ResourceAttributes
		allowed bool
	}{
		{name: "evictor evicts", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: "prod", Verb: "create", Resource: "pods", Subresource: "eviction"}, allowed: true},
		{name: "evictor never deletes pods", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: "prod", Verb: "delete", Resource: "pods"}},
		{name: "evictor writes policy status", user: evictor, attrs: authorizationv1.ResourceAttributes{Verb: "update", Group: "rebalancer.atarnet.org", Resource: "rebalancepolicies", Subresource: "status"}, allowed: true},
		{name: "evictor cannot relabel pods in its own namespace", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "patch", Resource: "pods"}},
		{name: "evictor does not patch policy status", user: evictor, attrs: authorizationv1.ResourceAttributes{Verb: "patch", Group: "rebalancer.atarnet.org", Resource: "rebalancepolicies", Subresource: "status"}},
		{name: "evictor reads its Lease (a standby finds the leader)", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Name: "rebalancer-evictor.rebalancer.atarnet.org"}, allowed: true},
		{name: "evictor never edits policies", user: evictor, attrs: authorizationv1.ResourceAttributes{Verb: "update", Group: "rebalancer.atarnet.org", Resource: "rebalancepolicies"}},
		{name: "evictor reads node usage", user: evictor, attrs: authorizationv1.ResourceAttributes{Verb: "list", Group: "metrics.k8s.io", Resource: "nodes"}, allowed: true},
		{name: "evictor renews its lease", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "rebalancer-evictor.rebalancer.atarnet.org"}, allowed: true},
		{name: "evictor cannot take another lease", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "rebalancer-scheduler"}},
		{name: "evictor has no lease elsewhere", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}},
		{name: "evictor reviews tokens (secure metrics)", user: evictor, attrs: authorizationv1.ResourceAttributes{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"}, allowed: true},
		{name: "evictor reads no secrets", user: evictor, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "secrets"}},
		{name: "scheduler binds", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: "prod", Verb: "create", Resource: "pods", Subresource: "binding"}, allowed: true},
		{name: "scheduler never deletes pods", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: "prod", Verb: "delete", Resource: "pods"}},
		{name: "scheduler never evicts", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: "prod", Verb: "create", Resource: "pods", Subresource: "eviction"}},
		{name: "scheduler reads NodeClasses", user: scheduler, attrs: authorizationv1.ResourceAttributes{Verb: "watch", Group: "rebalancer.atarnet.org", Resource: "nodeclasses"}, allowed: true},
		{name: "scheduler never writes NodeClass status", user: scheduler, attrs: authorizationv1.ResourceAttributes{Verb: "update", Group: "rebalancer.atarnet.org", Resource: "nodeclasses", Subresource: "status"}},
		{name: "scheduler renews its lease", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "rebalancer-scheduler"}, allowed: true},
		{name: "scheduler cannot take the default scheduler's lease", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "kube-scheduler"}},
		{name: "scheduler reads the client CA", user: scheduler, attrs: authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "get", Resource: "configmaps", Name: "extension-apiserver-authentication"}, allowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               tc.user,
				Groups:             s("system:serviceaccounts", "system:serviceaccounts:"+ns, "system:authenticated"),
				ResourceAttributes: &tc.attrs,
			}}
			if err := env.Client.Create(ctx, sar); err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tc.allowed {
				t.Errorf("%s: allowed = %v, want %v (%s)", fmt.Sprint(tc.attrs), sar.Status.Allowed, tc.allowed, sar.Status.Reason)
			}
		})
	}
}
