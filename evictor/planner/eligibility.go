package planner

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
)

// Eligibility answers whether a pod may be evicted now, with every reason it may not. The
// planner builds one per plan; the executor builds one on fresh state and asks again right
// before each eviction, so a pod that became protected in between is never evicted.
type Eligibility struct {
	cfg        Config
	now        time.Time
	namespaces map[string]labels.Set
	pdbs       *selectorIndex[*pdbInfo]
	slos       *selectorIndex[*sloInfo]
	workloads  map[types.UID]*workloadInfo
	podsByNS   map[string][]*corev1.Pod
	backoff    map[WorkloadKey]Backoff
	// podSelectorText is the pod selector as text, rendered once for the many messages that quote it.
	podSelectorText string

	// From the policy's ledger: evictions in the last hour, per namespace, and the latest per workload.
	hourUsed      int
	nsUsed        map[string]int
	lastEvictedAt map[WorkloadKey]time.Time

	// Spent by moves already chosen in this plan.
	hourPlanned int
	nsPlanned   map[string]int
	inPlan      map[WorkloadKey]int
}

type pdbInfo struct {
	pdb      *policyv1.PodDisruptionBudget
	selector labels.Selector
	planned  int
}

type sloInfo struct {
	slo            *v1alpha1.WorkloadSLO
	key            string
	selector       labels.Selector
	max            int
	maxStateful    int
	used           int
	usedStateful   int
	planned        int
	plannedStatefl int
	window         time.Duration
	statsDone      bool
	matched, ready int
	unsettled      string
}

type workloadInfo struct {
	replicas int
}

// candidate is a pod under consideration with what the predicates need about it.
type candidate struct {
	pod      *corev1.Pod
	ref      PodRef
	key      string // namespace/name, for ordering
	owner    *metav1.OwnerReference
	workload WorkloadKey
	wl       *workloadInfo
	slos     []*sloInfo
	pdbs     []*pdbInfo
	stateful bool
	ready    bool
}

// NewEligibility indexes the snapshot for eligibility checks under a resolved policy.
func NewEligibility(s *Snapshot, cfg Config, policy *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, st State, now time.Time) *Eligibility {
	e := &Eligibility{
		cfg: cfg, now: now,
		namespaces:    make(map[string]labels.Set, len(s.Namespaces)),
		pdbs:          newSelectorIndex[*pdbInfo](),
		slos:          newSelectorIndex[*sloInfo](),
		workloads:     make(map[types.UID]*workloadInfo, len(s.Pods)/4),
		backoff:       st.Backoff,
		nsUsed:        map[string]int{},
		lastEvictedAt: map[WorkloadKey]time.Time{},
		nsPlanned:     map[string]int{},
		inPlan:        map[WorkloadKey]int{},
	}
	e.podSelectorText = cfg.PodSelector.String()
	for _, ns := range s.Namespaces {
		e.namespaces[ns.Name] = labels.Set(ns.Labels)
	}
	for _, pdb := range s.PDBs {
		// policy/v1: a nil selector matches no pod, an empty one every pod in the namespace.
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			continue
		}
		e.pdbs.add(pdb.Namespace, sel, &pdbInfo{pdb: pdb, selector: sel})
	}
	hourAgo := now.Add(-time.Hour)
	for _, slo := range slos {
		if slo.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(slo.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		si := &sloInfo{
			slo: slo, key: slo.Namespace + "/" + slo.Name, selector: sel,
			max:    int(deref(slo.Spec.MaxDisruptionsPerHour, v1alpha1.DefaultSLOMaxDisruptionsPerHour)),
			window: duration(slo.Spec.ReadinessWindow, v1alpha1.DefaultSLOReadinessWindow),
		}
		si.maxStateful = si.max
		if slo.Spec.MaxStatefulDisruptionsPerHour != nil {
			si.maxStateful = int(*slo.Spec.MaxStatefulDisruptionsPerHour)
		}
		for _, d := range slo.Status.Ledger {
			if d.Time.After(hourAgo) {
				si.used++
				if d.Stateful {
					si.usedStateful++
				}
			}
		}
		e.slos.add(slo.Namespace, sel, si)
	}
	if policy != nil {
		for _, d := range policy.Status.Ledger {
			if d.Time.After(hourAgo) {
				e.hourUsed++
				e.nsUsed[d.Namespace]++
			}
			wk := ledgerWorkload(d)
			if wk.Kind != "" && d.Time.After(e.lastEvictedAt[wk]) {
				e.lastEvictedAt[wk] = d.Time.Time
			}
		}
	}
	for _, p := range s.Pods {
		if !active(p) {
			continue
		}
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
			wl := e.workloads[ref.UID]
			if wl == nil {
				wl = &workloadInfo{}
				e.workloads[ref.UID] = wl
			}
			wl.replicas++
		}
	}
	if len(e.slos.byNS) > 0 {
		e.podsByNS = map[string][]*corev1.Pod{}
		for _, p := range s.Pods {
			if _, ok := e.slos.byNS[p.Namespace]; ok && active(p) {
				e.podsByNS[p.Namespace] = append(e.podsByNS[p.Namespace], p)
			}
		}
	}
	return e
}

func ledgerWorkload(d v1alpha1.Disruption) WorkloadKey {
	kind, name, ok := strings.Cut(d.Workload, "/")
	if !ok {
		return WorkloadKey{}
	}
	return WorkloadKey{Namespace: d.Namespace, Kind: kind, Name: name}
}

// Check returns every reason the pod may not be evicted now; none means it may.
func (e *Eligibility) Check(pod *corev1.Pod) []Reason {
	return e.check(e.candidate(pod))
}

func (e *Eligibility) candidate(pod *corev1.Pod) *candidate {
	c := &candidate{}
	e.fill(c, pod)
	return c
}

// fill sets up c for pod.
func (e *Eligibility) fill(c *candidate, pod *corev1.Pod) {
	*c = candidate{pod: pod, ref: PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}, key: pod.Namespace + "/" + pod.Name, ready: podReady(pod)}
	c.owner = metav1.GetControllerOfNoCopy(pod)
	if c.owner != nil {
		c.workload = WorkloadKey{Namespace: pod.Namespace, Kind: c.owner.Kind, Name: c.owner.Name}
		c.wl = e.workloads[c.owner.UID]
	}
	lbls := labels.Set(pod.Labels)
	c.slos = e.slos.match(pod.Namespace, lbls)
	c.pdbs = e.pdbs.match(pod.Namespace, lbls)
	c.stateful = isStateful(pod, c.owner)
}

func (e *Eligibility) check(c *candidate) []Reason {
	var out []Reason
	for i := range predicates {
		if r := predicates[i].check(e, c); r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// predicate is one eligibility rule: nil when the pod passes, else why it does not.
type predicate struct {
	name  string
	check func(e *Eligibility, c *candidate) *Reason
}

// predicates are every eligibility rule, in the order their reasons are reported.
var predicates = []predicate{
	{"optedIn", (*Eligibility).optedIn},
	{"daemonSet", (*Eligibility).daemonSet},
	{"mirror", (*Eligibility).mirror},
	{"running", (*Eligibility).running},
	{"systemCritical", (*Eligibility).systemCritical},
	{"priority", (*Eligibility).priority},
	{"localStorage", (*Eligibility).localStorage},
	{"pinned", (*Eligibility).pinned},
	{"controller", (*Eligibility).controller},
	{"replicas", (*Eligibility).replicas},
	{"minAvailable", (*Eligibility).minAvailable},
	{"stateful", (*Eligibility).stateful},
	{"age", (*Eligibility).age},
	{"backoff", (*Eligibility).inBackoff},
	{"sloBudget", (*Eligibility).sloBudget},
	{"readinessWindow", (*Eligibility).readinessWindow},
	{"namespaceBudget", (*Eligibility).namespaceBudget},
	{"pdb", (*Eligibility).pdb},
	{"hourlyLimit", (*Eligibility).hourlyLimit},
}

func reason(code ReasonCode, format string, args ...any) *Reason {
	return &Reason{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Eligibility) optedIn(c *candidate) *Reason {
	p := c.pod
	if !e.cfg.PodSelector.Matches(labels.Set(p.Labels)) {
		return reason(ReasonNotOptedIn, "not opted in: labels do not match the policy's podSelector %s", e.podSelectorText)
	}
	if e.cfg.ExcludeNamespaces[p.Namespace] {
		return reason(ReasonNotOptedIn, "not opted in: namespace %s is excluded by the policy", p.Namespace)
	}
	if len(e.cfg.IncludeNamespaces) > 0 && !e.cfg.IncludeNamespaces[p.Namespace] {
		return reason(ReasonNotOptedIn, "not opted in: namespace %s is not in the policy's namespaces.include", p.Namespace)
	}
	if e.cfg.NamespaceSelector != nil && !e.cfg.NamespaceSelector.Matches(e.namespaces[p.Namespace]) {
		return reason(ReasonNotOptedIn, "not opted in: namespace %s does not match the policy's namespaceSelector", p.Namespace)
	}
	return nil
}

func (e *Eligibility) daemonSet(c *candidate) *Reason {
	if c.owner != nil && c.owner.Kind == "DaemonSet" {
		return reason(ReasonDaemonSet, "DaemonSet pod: its replacement would come back to the same node")
	}
	return nil
}

func (e *Eligibility) mirror(c *candidate) *Reason {
	if _, ok := c.pod.Annotations[corev1.MirrorPodAnnotationKey]; ok || (c.owner != nil && c.owner.Kind == "Node") {
		return reason(ReasonMirrorPod, "static (mirror) pod: the kubelet owns it")
	}
	return nil
}

// running: the eviction API skips PodDisruptionBudgets for pods that are not running, so such
// pods are never treated as safe candidates.
func (e *Eligibility) running(c *candidate) *Reason {
	p := c.pod
	if p.DeletionTimestamp != nil {
		return reason(ReasonNotRunning, "terminating")
	}
	if p.Status.Phase != corev1.PodRunning {
		return reason(ReasonNotRunning, "phase %s: only Running pods are candidates (the eviction API would bypass PodDisruptionBudgets)", p.Status.Phase)
	}
	return nil
}

func (e *Eligibility) systemCritical(c *candidate) *Reason {
	p := c.pod
	switch {
	case p.Spec.PriorityClassName == "system-node-critical" || p.Spec.PriorityClassName == "system-cluster-critical":
		return reason(ReasonSystemCritical, "system-critical: priorityClassName %s", p.Spec.PriorityClassName)
	case p.Spec.Priority != nil && *p.Spec.Priority >= systemCriticalPriority:
		return reason(ReasonSystemCritical, "system-critical: priority %d", *p.Spec.Priority)
	}
	return nil
}

// systemCriticalPriority is scheduling.SystemCriticalPriority: priorities from here up are
// reserved for system-critical pods.
const systemCriticalPriority = 2000000000

func (e *Eligibility) priority(c *candidate) *Reason {
	if p := c.pod.Spec.Priority; p != nil && *p >= e.cfg.PriorityThreshold {
		return reason(ReasonHighPriority, "priority %d at or above the policy's threshold %d", *p, e.cfg.PriorityThreshold)
	}
	return nil
}

func (e *Eligibility) localStorage(c *candidate) *Reason {
	size, bounded := localStorage(c.pod)
	if !bounded {
		return reason(ReasonLocalStorage, "local storage: an emptyDir without sizeLimit and no ephemeral-storage limit may hold more than maxLocalStorage (%s)", bytesString(e.cfg.MaxLocalStorage))
	}
	if size > e.cfg.MaxLocalStorage {
		return reason(ReasonLocalStorage, "local storage %s above maxLocalStorage %s", bytesString(size), bytesString(e.cfg.MaxLocalStorage))
	}
	return nil
}

// localStorage is the most data the pod's disk-backed emptyDir volumes can hold: each at its
// sizeLimit; when one has none, the pod's ephemeral-storage limit caps them all; without either
// it is unbounded.
func localStorage(p *corev1.Pod) (size int64, bounded bool) {
	unsized := false
	for i := range p.Spec.Volumes {
		ed := p.Spec.Volumes[i].EmptyDir
		if ed == nil || ed.Medium == corev1.StorageMediumMemory {
			continue
		}
		if ed.SizeLimit == nil {
			unsized = true
			continue
		}
		size += ed.SizeLimit.Value()
	}
	if !unsized {
		return size, true
	}
	var limit int64
	for i := range p.Spec.Containers {
		q, ok := p.Spec.Containers[i].Resources.Limits[corev1.ResourceEphemeralStorage]
		if !ok {
			return 0, false
		}
		limit += q.Value()
	}
	return limit, true
}

func (e *Eligibility) pinned(c *candidate) *Reason {
	if c.pod.Annotations[e.cfg.PinnedAnnotation] == "true" {
		return reason(ReasonPinned, "pinned by annotation %s", e.cfg.PinnedAnnotation)
	}
	return nil
}

func (e *Eligibility) controller(c *candidate) *Reason {
	if c.owner == nil {
		return reason(ReasonBarePod, "no controller: nothing would replace a bare pod")
	}
	return nil
}

func (e *Eligibility) replicas(c *candidate) *Reason {
	if c.owner == nil || c.wl == nil {
		return nil
	}
	if left := c.wl.replicas - e.inPlan[c.workload]; left <= 1 {
		return reason(ReasonSingleReplica, "only replica of %s left running", c.workload)
	}
	return nil
}

func (e *Eligibility) minAvailable(c *candidate) *Reason {
	for _, si := range c.slos {
		e.sloStats(si)
		min := 1
		if ma := si.slo.Spec.MinAvailable; ma != nil {
			v, err := intstr.GetScaledValueFromIntOrPercent(ma, si.matched, true)
			if err != nil {
				return reason(ReasonMinAvailable, "WorkloadSLO %s minAvailable %s cannot be read: %v", si.key, ma.String(), err)
			}
			min = v
		}
		after := si.ready - si.planned
		if c.ready {
			after--
		}
		if after < min {
			return reason(ReasonMinAvailable, "below WorkloadSLO %s minAvailable: %d of %d pods would stay Ready, %d required", si.key, max(after, 0), si.matched, min)
		}
	}
	return nil
}

func (e *Eligibility) stateful(c *candidate) *Reason {
	if !c.stateful {
		return nil
	}
	for _, si := range c.slos {
		if si.slo.Spec.AllowStateful != nil && *si.slo.Spec.AllowStateful {
			if used := si.usedStateful + si.plannedStatefl; used >= si.maxStateful {
				return reason(ReasonSLOBudget, "WorkloadSLO %s stateful budget exhausted: %d of %d stateful disruptions used in the last hour", si.key, used, si.maxStateful)
			}
			return nil
		}
	}
	return reason(ReasonStateful, "stateful (StatefulSet or PersistentVolumeClaim) and no WorkloadSLO with allowStateful covers it")
}

func (e *Eligibility) age(c *candidate) *Reason {
	start := c.pod.CreationTimestamp.Time
	if c.pod.Status.StartTime != nil {
		start = c.pod.Status.StartTime.Time
	}
	if age := e.now.Sub(start); age < e.cfg.MinPodAge {
		return reason(ReasonTooYoung, "younger than minPodAge: running %s of %s", age.Round(time.Second), e.cfg.MinPodAge)
	}
	return nil
}

func (e *Eligibility) inBackoff(c *candidate) *Reason {
	if c.owner == nil {
		return nil
	}
	if n := e.inPlan[c.workload]; n > 0 && e.cfg.PodBackoff > 0 {
		return reason(ReasonWorkloadInPlan, "%s already has a pod evicted in this plan; it is backed off for %s", c.workload, e.cfg.PodBackoff)
	}
	if t, ok := e.lastEvictedAt[c.workload]; ok && e.now.Before(t.Add(e.cfg.PodBackoff)) {
		return reason(ReasonBackoff, "in backoff until %s: %s had a pod evicted at %s (podBackoff %s)",
			t.Add(e.cfg.PodBackoff).UTC().Format(time.RFC3339), c.workload, t.UTC().Format(time.RFC3339), e.cfg.PodBackoff)
	}
	if b, ok := e.backoff[c.workload]; ok && e.now.Before(b.Until) {
		return reason(ReasonBackoff, "in backoff until %s: %s", b.Until.UTC().Format(time.RFC3339), b.Reason)
	}
	return nil
}

func (e *Eligibility) sloBudget(c *candidate) *Reason {
	for _, si := range c.slos {
		if used := si.used + si.planned; used >= si.max {
			return reason(ReasonSLOBudget, "WorkloadSLO %s budget exhausted: %d of %d disruptions used in the last hour", si.key, used, si.max)
		}
	}
	return nil
}

func (e *Eligibility) readinessWindow(c *candidate) *Reason {
	for _, si := range c.slos {
		e.sloStats(si)
		if si.unsettled != "" {
			return reason(ReasonReadinessWindow, "WorkloadSLO %s readiness window: %s", si.key, si.unsettled)
		}
	}
	return nil
}

func (e *Eligibility) namespaceBudget(c *candidate) *Reason {
	max, ok := e.cfg.NamespaceBudgets[c.pod.Namespace]
	if !ok {
		return nil
	}
	if used := e.nsUsed[c.pod.Namespace] + e.nsPlanned[c.pod.Namespace]; used >= max {
		return reason(ReasonNamespaceBudget, "namespace %s budget exhausted: %d of %d disruptions used in the last hour", c.pod.Namespace, used, max)
	}
	return nil
}

func (e *Eligibility) pdb(c *candidate) *Reason {
	switch len(c.pdbs) {
	case 0:
		return nil
	case 1:
		pi := c.pdbs[0]
		if left := int(pi.pdb.Status.DisruptionsAllowed) - pi.planned; left <= 0 {
			return reason(ReasonPDBNoDisruptions, "PodDisruptionBudget %s allows no disruption now", pi.pdb.Name)
		}
		return nil
	default:
		names := make([]string, len(c.pdbs))
		for i, pi := range c.pdbs {
			names[i] = pi.pdb.Name
		}
		sort.Strings(names)
		return reason(ReasonMultiplePDBs, "more than one PodDisruptionBudget matches (%s): the eviction API refuses such pods", strings.Join(names, ", "))
	}
}

func (e *Eligibility) hourlyLimit(_ *candidate) *Reason {
	if used := e.hourUsed + e.hourPlanned; used >= e.cfg.MaxPerHour {
		return reason(ReasonHourlyLimit, "policy budget exhausted: %d of %d evictions per hour used", used, e.cfg.MaxPerHour)
	}
	return nil
}

// sloStats counts the SLO's pods and finds one that is not yet settled: not Ready, or Ready for
// less than the readiness window.
func (e *Eligibility) sloStats(si *sloInfo) {
	if si.statsDone {
		return
	}
	si.statsDone = true
	for _, p := range e.podsByNS[si.slo.Namespace] {
		if !si.selector.Matches(labels.Set(p.Labels)) {
			continue
		}
		si.matched++
		ready, since := podReadySince(p)
		if ready {
			si.ready++
		}
		if si.unsettled != "" || si.window <= 0 {
			continue
		}
		switch {
		case !ready:
			si.unsettled = fmt.Sprintf("pod %s is not Ready; replacements must be Ready for %s before the workload is disrupted again", p.Name, si.window)
		case e.now.Sub(since) < si.window:
			si.unsettled = fmt.Sprintf("pod %s has been Ready for %s of the %s required before the workload is disrupted again",
				p.Name, e.now.Sub(since).Round(time.Second), si.window)
		}
	}
}

// record spends the budgets a chosen move uses.
func (e *Eligibility) record(c *candidate) {
	e.hourPlanned++
	e.nsPlanned[c.pod.Namespace]++
	e.inPlan[c.workload]++
	for _, si := range c.slos {
		si.planned++
		if c.stateful {
			si.plannedStatefl++
		}
	}
	for _, pi := range c.pdbs {
		pi.planned++
	}
}

func active(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending)
}

func podReady(p *corev1.Pod) bool {
	r, _ := podReadySince(p)
	return r
}

func podReadySince(p *corev1.Pod) (bool, time.Time) {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

func isStateful(p *corev1.Pod, owner *metav1.OwnerReference) bool {
	if owner != nil && owner.Kind == "StatefulSet" {
		return true
	}
	for i := range p.Spec.Volumes {
		v := &p.Spec.Volumes[i]
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return false
}

func bytesString(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%dB", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ci", float64(b)/float64(div), "KMGTP"[exp])
}
