package planner_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/testutil"
)

// TestPredicates runs each eligibility rule on a pod it rejects and on one it admits. The base
// pod, web-0, is opted in, Running and Ready for a day, one of three replicas of ReplicaSet web.
func TestPredicates(t *testing.T) {
	base := func() *testutil.PodBuilder {
		return testutil.Pod("web-0").Namespace("prod").Node("n1").OptIn().Label("app", "web").OwnedBy("ReplicaSet", "web").CPU("500m").Memory("512Mi")
	}
	cases := []struct {
		name  string
		pod   *testutil.PodBuilder
		setup func(w *world)
		want  planner.ReasonCode // "" means the pod is admitted with no reason at all
	}{
		{name: "eligible", pod: base()},

		{name: "not opted in", pod: testutil.Pod("web-0").Namespace("prod").Node("n1").Label("app", "web").OwnedBy("ReplicaSet", "web"), want: planner.ReasonNotOptedIn},
		{name: "namespace excluded", pod: base(), setup: func(w *world) {
			w.policy.Spec.Namespaces = &v1alpha1.NamespaceFilter{Exclude: []string{"prod"}}
		}, want: planner.ReasonNotOptedIn},
		{name: "namespace not included", pod: base(), setup: func(w *world) {
			w.policy.Spec.Namespaces = &v1alpha1.NamespaceFilter{Include: []string{"staging"}}
		}, want: planner.ReasonNotOptedIn},
		{name: "namespace included", pod: base(), setup: func(w *world) {
			w.policy.Spec.Namespaces = &v1alpha1.NamespaceFilter{Include: []string{"prod"}}
		}},
		{name: "namespace selector mismatch", pod: base(), setup: func(w *world) {
			w.snap.Namespaces = []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"tier": "prod"}}}}
			w.policy.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "batch"}}
		}, want: planner.ReasonNotOptedIn},
		{name: "namespace selector match", pod: base(), setup: func(w *world) {
			w.snap.Namespaces = []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"tier": "prod"}}}}
			w.policy.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}
		}},

		{name: "DaemonSet pod", pod: base().DaemonSetOwner("agent"), want: planner.ReasonDaemonSet},
		{name: "mirror pod", pod: base().Annotation(corev1.MirrorPodAnnotationKey, "x"), want: planner.ReasonMirrorPod},
		{name: "static pod owned by its node", pod: base().OwnedBy("Node", "n1"), want: planner.ReasonMirrorPod},

		{name: "terminating", pod: base().Terminating(), want: planner.ReasonNotRunning},
		{name: "pending", pod: base().Phase(corev1.PodPending), want: planner.ReasonNotRunning},
		{name: "succeeded", pod: base().Phase(corev1.PodSucceeded), want: planner.ReasonNotRunning},
		{name: "failed", pod: base().Phase(corev1.PodFailed), want: planner.ReasonNotRunning},

		{name: "system-cluster-critical", pod: base().Priority(2000000000, "system-cluster-critical"), want: planner.ReasonSystemCritical},
		{name: "system-node-critical", pod: base().Priority(2000001000, "system-node-critical"), want: planner.ReasonSystemCritical},
		{name: "priority at threshold", pod: base().Priority(100000, "high"), want: planner.ReasonHighPriority},
		{name: "priority below threshold", pod: base().Priority(99999, "normal")},
		{name: "priority threshold by class name", pod: base().Priority(5000, "batch"), setup: func(w *world) {
			w.snap.PriorityClasses = append(w.snap.PriorityClasses, priorityClass("important", 1000))
			w.policy.Spec.Safety = &v1alpha1.Safety{PriorityThreshold: &v1alpha1.PriorityThreshold{Name: "important"}}
		}, want: planner.ReasonHighPriority},

		{name: "sized emptyDir above limit", pod: base().EmptyDir("cache", "2Gi", false), want: planner.ReasonLocalStorage},
		{name: "sized emptyDir under limit", pod: base().EmptyDir("cache", "512Mi", false)},
		{name: "unsized emptyDir without storage limit", pod: base().EmptyDir("tmp", "", false), want: planner.ReasonLocalStorage},
		{name: "unsized emptyDir capped by ephemeral-storage limit", pod: base().EmptyDir("tmp", "", false).EphemeralStorageLimit("256Mi")},
		{name: "unsized emptyDir with large storage limit", pod: base().EmptyDir("tmp", "", false).EphemeralStorageLimit("8Gi"), want: planner.ReasonLocalStorage},
		{name: "memory emptyDir does not count", pod: base().EmptyDir("shm", "", true)},
		{name: "any local storage with maxLocalStorage 0", pod: base().EmptyDir("cache", "1Mi", false), setup: func(w *world) {
			w.policy.Spec.Safety = &v1alpha1.Safety{MaxLocalStorage: ptr.To(resourceQuantity("0"))}
		}, want: planner.ReasonLocalStorage},

		{name: "pinned", pod: base().Annotation(v1alpha1.DefaultPinnedAnnotation, "true"), want: planner.ReasonPinned},
		{name: "pinned annotation not true", pod: base().Annotation(v1alpha1.DefaultPinnedAnnotation, "false")},
		{name: "pinned by a custom annotation", pod: base().Annotation("example.com/keep", "true"), setup: func(w *world) {
			w.policy.Spec.Safety = &v1alpha1.Safety{PinnedAnnotation: "example.com/keep"}
		}, want: planner.ReasonPinned},

		{name: "its scheduler is down", pod: base().SchedulerName(v1alpha1.SchedulerName), setup: func(w *world) {
			w.snap.SchedulersDown = map[string]string{v1alpha1.SchedulerName: "its leader Lease has not been renewed for 2m"}
		}, want: planner.ReasonSchedulerUnavailable},
		{name: "another scheduler is down", pod: base(), setup: func(w *world) {
			w.snap.SchedulersDown = map[string]string{v1alpha1.SchedulerName: "its leader Lease has not been renewed for 2m"}
		}},

		{name: "bare pod", pod: testutil.Pod("web-0").Namespace("prod").Node("n1").OptIn().Label("app", "web"), want: planner.ReasonBarePod},
		{name: "single replica", pod: base().OwnedBy("ReplicaSet", "solo"), want: planner.ReasonSingleReplica},

		{name: "below SLO minAvailable", pod: base(), setup: func(w *world) {
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) { s.Spec.MinAvailable = ptr.To(intstr.FromInt32(3)) })
		}, want: planner.ReasonMinAvailable},
		{name: "SLO minAvailable percentage met", pod: base(), setup: func(w *world) {
			// 3 pods, 60% rounds up to 2; 3 ready - 1 = 2 stay
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) { s.Spec.MinAvailable = ptr.To(intstr.FromString("60%")) })
		}},
		{name: "SLO minAvailable unset needs one left", pod: base(), setup: func(w *world) {
			w.slo("web", "web", nil)
		}},

		{name: "StatefulSet pod without SLO", pod: base().StatefulSetOwner("db"), setup: func(w *world) {
			w.addReplicas("StatefulSet", "db")
		}, want: planner.ReasonStateful},
		{name: "PVC pod without SLO", pod: base().PVC("data"), want: planner.ReasonStateful},
		{name: "stateful pod allowed by SLO", pod: base().PVC("data"), setup: func(w *world) {
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) { s.Spec.AllowStateful = ptr.To(true) })
		}},
		{name: "stateful budget exhausted", pod: base().PVC("data"), setup: func(w *world) {
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) {
				s.Spec.AllowStateful = ptr.To(true)
				s.Spec.MaxDisruptionsPerHour = ptr.To[int32](3)
				s.Spec.MaxStatefulDisruptionsPerHour = ptr.To[int32](1)
				s.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-10 * time.Minute)), Namespace: "prod", Pod: "web-9", Stateful: true}}
			})
		}, want: planner.ReasonSLOBudget},

		{name: "too young", pod: base().Created(now.Add(-2 * time.Minute)), want: planner.ReasonTooYoung},
		{name: "old enough", pod: base().Created(now.Add(-6 * time.Minute))},

		{name: "backoff from the ledger", pod: base(), setup: func(w *world) {
			w.policy.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-10 * time.Minute)), Namespace: "prod", Pod: "web-7", Workload: "ReplicaSet/web"}}
		}, want: planner.ReasonBackoff},
		{name: "backoff over", pod: base(), setup: func(w *world) {
			w.policy.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-40 * time.Minute)), Namespace: "prod", Pod: "web-7", Workload: "ReplicaSet/web"}}
		}},
		{name: "backoff from state", pod: base(), setup: func(w *world) {
			w.state.Backoff = map[planner.WorkloadKey]planner.Backoff{{Namespace: "prod", Kind: "ReplicaSet", Name: "web"}: {Until: now.Add(time.Minute), Reason: "replacement came back"}}
		}, want: planner.ReasonBackoff},

		{name: "SLO budget exhausted", pod: base(), setup: func(w *world) {
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) {
				s.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-50 * time.Minute)), Namespace: "prod", Pod: "web-7"}}
			})
		}, want: planner.ReasonSLOBudget},
		{name: "SLO budget renewed after an hour", pod: base(), setup: func(w *world) {
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) {
				s.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-61 * time.Minute)), Namespace: "prod", Pod: "web-7"}}
			})
		}},

		{name: "replacement not Ready long enough", pod: base(), setup: func(w *world) {
			w.pods[1].Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-time.Minute))
			w.slo("web", "web", nil)
		}, want: planner.ReasonReadinessWindow},
		{name: "replacement not Ready", pod: base(), setup: func(w *world) {
			w.pods[1].Status.Conditions[0].Status = corev1.ConditionFalse
			w.slo("web", "web", func(s *v1alpha1.WorkloadSLO) { s.Spec.MinAvailable = ptr.To(intstr.FromInt32(0)) })
		}, want: planner.ReasonReadinessWindow},

		{name: "namespace budget exhausted", pod: base(), setup: func(w *world) {
			w.policy.Spec.NamespaceBudgets = []v1alpha1.NamespaceBudget{{Namespace: "prod", MaxDisruptionsPerHour: 1}}
			w.policy.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-50 * time.Minute)), Namespace: "prod", Pod: "api-1", Workload: "ReplicaSet/api"}}
		}, want: planner.ReasonNamespaceBudget},
		{name: "namespace budget left", pod: base(), setup: func(w *world) {
			w.policy.Spec.NamespaceBudgets = []v1alpha1.NamespaceBudget{{Namespace: "prod", MaxDisruptionsPerHour: 2}}
			w.policy.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-50 * time.Minute)), Namespace: "prod", Pod: "api-1", Workload: "ReplicaSet/api"}}
		}},

		{name: "PDB allows no disruption", pod: base(), setup: func(w *world) {
			w.pdb(testutil.PDB("prod", "web", map[string]string{"app": "web"}, 0))
		}, want: planner.ReasonPDBNoDisruptions},
		{name: "PDB allows one", pod: base(), setup: func(w *world) {
			w.pdb(testutil.PDB("prod", "web", map[string]string{"app": "web"}, 1))
		}},
		{name: "two PDBs match", pod: base(), setup: func(w *world) {
			w.pdb(testutil.PDB("prod", "web", map[string]string{"app": "web"}, 1))
			w.pdb(testutil.PDB("prod", "all", map[string]string{}, 5))
		}, want: planner.ReasonMultiplePDBs},
		{name: "PDB with nil selector matches nothing", pod: base(), setup: func(w *world) {
			p := testutil.PDB("prod", "none", nil, 0)
			p.Spec.Selector = nil
			w.pdb(p)
		}},
		{name: "PDB in another namespace", pod: base(), setup: func(w *world) {
			w.pdb(testutil.PDB("staging", "web", map[string]string{"app": "web"}, 0))
		}},

		{name: "hourly limit reached", pod: base(), setup: func(w *world) {
			w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerHour: ptr.To[int32](1)}
			w.policy.Status.Ledger = []v1alpha1.Disruption{{Time: metav1.NewTime(now.Add(-5 * time.Minute)), Namespace: "other", Pod: "x", Workload: "ReplicaSet/x"}}
		}, want: planner.ReasonHourlyLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			p := tc.pod.Obj()
			w.pods = append(w.pods, p)
			w.addReplicas(ownerKind(p), ownerName(p))
			if tc.setup != nil {
				tc.setup(w)
			}
			cfg, err := planner.Resolve(w.policy, w.snap.PriorityClasses)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			got := w.eligibility(cfg).Check(planner.NewPod(p))
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("want the pod admitted, got reasons %v", got)
				}
				return
			}
			found := false
			for _, r := range got {
				if r.Code == tc.want {
					found = true
					if r.Message == "" {
						t.Errorf("reason %s has no message", r.Code)
					}
				}
			}
			if !found {
				t.Fatalf("want reason %s, got %v", tc.want, codes(got))
			}
			if tc.want == planner.ReasonSLOBudget || tc.want == planner.ReasonNamespaceBudget || tc.want == planner.ReasonHourlyLimit {
				for _, r := range got {
					if r.Code == tc.want && !strings.Contains(r.Message, "budget exhausted") {
						t.Errorf("budget reason %q does not contain \"budget exhausted\"", r.Message)
					}
				}
			}
		})
	}
}

// TestPredicatesCollectEveryReason: a pod that breaks several rules reports all of them.
func TestPredicatesCollectEveryReason(t *testing.T) {
	w := newWorld()
	p := testutil.Pod("x").Namespace("prod").Node("n1").Label("app", "x").Annotation(v1alpha1.DefaultPinnedAnnotation, "true").
		Created(now.Add(-time.Minute)).Obj()
	w.pods = append(w.pods, p)
	cfg, err := planner.Resolve(w.policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := codes(w.eligibility(cfg).Check(planner.NewPod(p)))
	want := []planner.ReasonCode{planner.ReasonNotOptedIn, planner.ReasonPinned, planner.ReasonBarePod, planner.ReasonTooYoung}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want,+got):\n%s", diff)
	}
}

func TestResolveUnknownPriorityClass(t *testing.T) {
	w := newWorld()
	w.policy.Spec.Safety = &v1alpha1.Safety{PriorityThreshold: &v1alpha1.PriorityThreshold{Name: "missing"}}
	res := w.plan()
	if len(res.Blockers) != 1 || res.Blockers[0].Reason != v1alpha1.ReasonUnknownPriorityClass || res.Blockers[0].Condition != v1alpha1.ConditionConfigValid {
		t.Fatalf("blockers = %+v, want one UnknownPriorityClass on ConfigValid", res.Blockers)
	}
	if !strings.Contains(res.Blockers[0].Message, `"missing"`) || len(res.Moves) != 0 {
		t.Errorf("blocker %q should name the class, moves %v should be empty", res.Blockers[0].Message, res.Moves)
	}
}

// addReplicas adds two more Running, Ready pods of the same controller, so the pod under test is
// one of three.
func (w *world) addReplicas(kind, name string) {
	if kind == "" || kind == "Node" || kind == "DaemonSet" || name == "solo" {
		return
	}
	for _, n := range []string{"-r1", "-r2"} {
		w.pods = append(w.pods, testutil.Pod(name+n).Namespace("prod").Node("n2").OptIn().Label("app", name).OwnedBy(kind, name).Obj())
	}
}

func ownerKind(p *corev1.Pod) string {
	if len(p.OwnerReferences) == 0 {
		return ""
	}
	return p.OwnerReferences[0].Kind
}

func ownerName(p *corev1.Pod) string {
	if len(p.OwnerReferences) == 0 {
		return ""
	}
	return p.OwnerReferences[0].Name
}

// TestShapeReasonsAreEachPodsOwn: the pods of one shape share the reasons of the shape's rules
// (worked out once, until a move is recorded), yet every pod still gets its own: a pod a rule of
// its own holds back (not running, too young) reports that rule next to the shape's, and a move
// recorded in between is seen by the next pod. Each answer of one Eligibility over the sequence
// is compared with a fresh Eligibility that has only admitted the same earlier pods.
func TestShapeReasonsAreEachPodsOwn(t *testing.T) {
	w := newWorld()
	w.policy.Spec.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerHour: ptr.To[int32](1)}
	for i, mod := range []func(*testutil.PodBuilder){
		nil, // web-0
		func(b *testutil.PodBuilder) { b.Phase(corev1.PodPending) },       // web-1
		func(b *testutil.PodBuilder) { b.Created(now.Add(-time.Minute)) }, // web-2
		nil, nil, nil, // web-3..5
	} {
		b := testutil.Pod(fmt.Sprintf("web-%d", i)).Namespace("prod").Node("n1").OptIn().Label("app", "web").OwnedBy("ReplicaSet", "web")
		if mod != nil {
			mod(b)
		}
		w.pods = append(w.pods, b.Obj())
	}
	cfg, err := planner.Resolve(w.policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		pod   int
		admit bool
		want  []planner.ReasonCode
	}
	steps := []step{
		{pod: 0},
		{pod: 1, want: []planner.ReasonCode{planner.ReasonNotRunning}},
		{pod: 2, want: []planner.ReasonCode{planner.ReasonTooYoung}},
		{pod: 4},
		{pod: 3, admit: true},
		{pod: 4, want: []planner.ReasonCode{planner.ReasonWorkloadInPlan, planner.ReasonHourlyLimit}},
		{pod: 1, want: []planner.ReasonCode{planner.ReasonNotRunning, planner.ReasonWorkloadInPlan, planner.ReasonHourlyLimit}},
		{pod: 5, want: []planner.ReasonCode{planner.ReasonWorkloadInPlan, planner.ReasonHourlyLimit}},
		{pod: 0, want: []planner.ReasonCode{planner.ReasonWorkloadInPlan, planner.ReasonHourlyLimit}},
	}
	s := w.snapshot()
	if s.Pods[0].Shape != s.Pods[5].Shape {
		t.Fatal("the pods do not share a shape; the test would not exercise the shape's memo")
	}
	e := planner.NewEligibility(&s, cfg, w.policy, w.slos, w.state, now)
	var admitted []int
	for i, st := range steps {
		var got []planner.Reason
		if st.admit {
			got = e.Admit(s.Pods[st.pod])
		} else {
			got = e.Check(s.Pods[st.pod])
		}
		// The same question to an Eligibility that memoised nothing but the earlier admissions.
		fresh := w.snapshot()
		ref := planner.NewEligibility(&fresh, cfg, w.policy, w.slos, w.state, now)
		for _, a := range admitted {
			ref.Admit(fresh.Pods[a])
		}
		want := ref.Check(fresh.Pods[st.pod])
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step %d (web-%d): memoised reasons differ from a fresh check (-fresh,+memoised):\n%s", i, st.pod, diff)
		}
		if diff := cmp.Diff(st.want, codes(got)); diff != "" {
			t.Errorf("step %d (web-%d): reasons (-want,+got):\n%s", i, st.pod, diff)
		}
		if st.admit && len(got) == 0 {
			admitted = append(admitted, st.pod)
		}
	}
}
