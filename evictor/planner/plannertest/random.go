package plannertest

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// Random generates a small cluster where everything varies: node sizes, classes, taints and
// readiness; pods of every protected kind; PDBs, WorkloadSLOs and ledgers with budgets partly
// spent; random rate limits and thresholds. It is the input of the planner's property test and
// fuzz target.
func Random(seed uint64) World {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed*0x5851f42d4c957f2d+1))}
	w := World{
		Snapshot: planner.Snapshot{Usage: planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}},
		Policy:   Policy(),
	}
	g.policy(&w)
	g.nodes(&w)
	loads := g.workloads(&w)
	for _, n := range w.Snapshot.Nodes {
		l := loads[n.Name]
		ts := Now
		if g.chance(0.05) {
			ts = Now.Add(-time.Hour)
		}
		if g.chance(0.95) {
			w.Snapshot.Usage.Nodes[n.Name] = planner.Sample{MilliCPU: l.cpu + float64(g.pick(500)), Memory: l.mem + float64(g.pick(1<<30)), Time: ts}
		}
	}
	for _, ns := range namespaces {
		w.Snapshot.Namespaces = append(w.Snapshot.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	w.Snapshot.Pods = planner.NewPods(w.Pods)
	return w
}

// gen draws the random choices of Random.
type gen struct{ rng *rand.Rand }

func (g *gen) pick(n int) int        { return g.rng.IntN(n) }
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }
func (g *gen) float64() float64      { return g.rng.Float64() }

var namespaces = []string{"a", "b"}

type load struct{ cpu, mem float64 }

// policy draws thresholds, limits, budgets and a partly spent ledger.
func (g *gen) policy(w *World) {
	pick, chance, rng := g.pick, g.chance, g
	sp := &w.Policy.Spec
	hot := 0.6 + 0.3*rng.float64()
	cold := 0.1 + 0.3*rng.float64()
	sp.Thresholds = &v1alpha1.Thresholds{Hot: hot, Cold: cold}
	sp.Hysteresis = &v1alpha1.Hysteresis{ConsecutiveReadings: int32(1 + pick(2)), Margin: ptr.To((hot - cold) / 4 * rng.float64())}
	sp.MinSigmaImprovement = ptr.To([]float64{0, 0.001, 0.01}[pick(3)])
	if chance(0.5) {
		sp.Destinations = ptr.To(v1alpha1.DestinationsNotHot)
	}
	perCycle := int32(pick(7))
	sp.RateLimits = &v1alpha1.RateLimits{
		MaxEvictionsPerCycle:        ptr.To(perCycle),
		MaxEvictionsPerNodePerCycle: ptr.To(int32(pick(int(perCycle) + 1))),
		MaxEvictionsPerHour:         ptr.To(perCycle + int32(pick(8))),
	}
	sp.PodBackoff = &metav1.Duration{Duration: []time.Duration{0, 10 * time.Minute, 30 * time.Minute}[pick(3)]}
	sp.Safety = &v1alpha1.Safety{PriorityThreshold: &v1alpha1.PriorityThreshold{Value: ptr.To[int32](1000)}, MinPodAge: &metav1.Duration{Duration: 5 * time.Minute}}
	if chance(0.5) {
		sp.NamespaceBudgets = []v1alpha1.NamespaceBudget{{Namespace: "a", MaxDisruptionsPerHour: int32(pick(3))}}
	}
	for i := 0; i < pick(3); i++ {
		ns := namespaces[pick(2)]
		w.Policy.Status.Ledger = append(w.Policy.Status.Ledger, v1alpha1.Disruption{
			Time: metav1.NewTime(Now.Add(-time.Duration(pick(90)) * time.Minute)), Namespace: ns, Pod: "old", Workload: fmt.Sprintf("ReplicaSet/w%d", pick(6)),
		})
	}
}

// nodes draws the nodes: sizes, architectures, zones, taints, cordons and readiness.
func (g *gen) nodes(w *World) {
	pick, chance := g.pick, g.chance
	if chance(0.3) {
		w.Snapshot.NodeClasses = []*v1alpha1.NodeClass{nodeClass("pi", "arm64", int32(pick(101)), 0.5, v1alpha1.ProfileBalanced)}
	}

	nNodes := 2 + pick(9)
	for i := 0; i < nNodes; i++ {
		arch := "amd64"
		if chance(0.3) {
			arch = "arm64"
		}
		n := node(fmt.Sprintf("n%d", i), []string{"2", "4", "8"}[pick(3)], []string{"4Gi", "8Gi", "16Gi"}[pick(3)], arch)
		n.Labels["zone"] = []string{"x", "y"}[pick(2)]
		if chance(0.1) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "special", Effect: corev1.TaintEffectNoSchedule}}
		}
		if chance(0.05) {
			n.Spec.Unschedulable = true
		}
		if chance(0.05) {
			n.Status.Conditions[0].Status = corev1.ConditionFalse
		}
		w.Snapshot.Nodes = append(w.Snapshot.Nodes, n)
	}

}

// workloads draws workloads of every kind with their PDBs, WorkloadSLOs, pods and usage, and
// returns the load each node carries.
func (g *gen) workloads(w *World) map[string]*load {
	pick, chance, rng := g.pick, g.chance, g
	nNodes := len(w.Snapshot.Nodes)
	loads := map[string]*load{}
	for _, n := range w.Snapshot.Nodes {
		loads[n.Name] = &load{}
	}
	nWorkloads := 2 + pick(8)
	for wl := 0; wl < nWorkloads; wl++ {
		ns := namespaces[pick(2)]
		app := fmt.Sprintf("w%d", wl)
		kind := []string{"ReplicaSet", "ReplicaSet", "ReplicaSet", "StatefulSet", "DaemonSet", ""}[pick(6)]
		replicas := 1 + pick(7)
		cpuReq, memReq := 50+pick(900), 64+pick(1500)
		optIn := chance(0.8)
		if chance(0.2) {
			w.Snapshot.PDBs = append(w.Snapshot.PDBs, &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
				Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
				Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: int32(pick(3))},
			})
		}
		if chance(0.3) {
			slo := &v1alpha1.WorkloadSLO{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
				Spec: v1alpha1.WorkloadSLOSpec{
					Selector:              &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
					MaxDisruptionsPerHour: ptr.To(int32(pick(4))),
					ReadinessWindow:       &metav1.Duration{Duration: time.Duration(pick(10)) * time.Minute},
					AllowStateful:         ptr.To(chance(0.5)),
				},
			}
			if chance(0.5) {
				slo.Spec.MinAvailable = ptr.To(intstr.FromInt32(int32(pick(4))))
			}
			for i := 0; i < pick(3); i++ {
				slo.Status.Ledger = append(slo.Status.Ledger, v1alpha1.Disruption{Time: metav1.NewTime(Now.Add(-time.Duration(pick(90)) * time.Minute)), Namespace: ns, Pod: "old", Stateful: chance(0.5)})
			}
			w.SLOs = append(w.SLOs, slo)
		}
		for r := 0; r < replicas; r++ {
			// Skewed: low-numbered nodes get more pods, so some run hot.
			n := w.Snapshot.Nodes[min(pick(nNodes), pick(nNodes))]
			p := pod(fmt.Sprintf("%s-%d", app, r), ns, n.Name, app, kind, cpuReq, memReq)
			if kind == "" {
				p.OwnerReferences = nil
			}
			if optIn {
				p.Labels[v1alpha1.OptInLabelKey] = v1alpha1.OptInLabelValue
			}
			g.variant(p)
			use := 0.3 + 2*rng.float64()
			cpu, mem := float64(cpuReq)*use, float64(memReq)*(1<<20)*use
			loads[n.Name].cpu += cpu
			loads[n.Name].mem += mem
			w.Pods = append(w.Pods, p)
			if chance(0.9) {
				w.Snapshot.Usage.Pods[types.NamespacedName{Namespace: ns, Name: p.Name}] = planner.Sample{MilliCPU: cpu, Memory: mem, Time: Now}
			}
		}
	}
	return loads
}

// variant makes one pod in about fifty of each protected or unusual kind.
func (g *gen) variant(p *corev1.Pod) {
	switch g.pick(50) {
	case 0:
		p.Spec.PriorityClassName, p.Spec.Priority = "system-cluster-critical", ptr.To[int32](2000000000)
	case 1:
		p.Spec.Priority = ptr.To[int32](5000)
	case 2:
		p.Annotations = map[string]string{v1alpha1.DefaultPinnedAnnotation: "true"}
	case 3:
		p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	case 4:
		p.Spec.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	case 5:
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "d"}}}}
	case 6:
		p.Status.Phase = corev1.PodPending
	case 7:
		p.DeletionTimestamp = ptr.To(metav1.NewTime(Now))
	case 8:
		young := metav1.NewTime(Now.Add(-time.Minute))
		p.CreationTimestamp, p.Status.StartTime = young, &young
	case 9:
		p.Status.Conditions[0].Status = corev1.ConditionFalse
	case 10:
		p.Spec.NodeSelector = map[string]string{"zone": "x"}
	case 11:
		p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	case 12:
		p.Spec.SchedulerName = v1alpha1.SchedulerName
		p.Labels[v1alpha1.ProfileKey] = []string{"cpu-bound", "memory-bound", "balanced"}[g.pick(3)]
	case 13:
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("100Gi")
	}
}
