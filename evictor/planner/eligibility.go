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
	"github.com/tinorodney/rebalancer/pkg/ledger"
	"github.com/tinorodney/rebalancer/pkg/scoring"
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
	// shapeWorkload is each counted shape's entry in workloads, found without hashing its UID.
	shapeWorkload shapeMap[*workloadInfo]
	podsByNS      map[string][]*Pod
	// shapes memoises what the pods of one shape in one namespace have in common.
	shapes shapeMap[*shapeInfo]
	// reasonBuf backs the reasons check returns.
	reasonBuf []Reason
	backoff   map[WorkloadKey]Backoff
	// podSelectorText is the pod selector as text, rendered once for the many messages that quote it.
	podSelectorText string
	// unselected is the reason given to pods the pod selector does not match, made once.
	unselected *Reason

	// From the policy's ledger: evictions in the last hour, per namespace, and the latest per workload.
	hourUsed int
	// schedulersDown: Snapshot.SchedulersDown.
	schedulersDown map[string]string
	nsUsed         map[string]int
	lastEvictedAt  map[WorkloadKey]time.Time

	// Spent by moves already chosen in this plan.
	hourPlanned int
	nsPlanned   map[string]int
	inPlan      map[WorkloadKey]int
	// recorded counts the moves recorded: answers of the budget rules memoised per shape hold
	// until it changes (shapeInfo.recorded).
	recorded int
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

// shapeInfo is what the predicates need that depends only on the pod's namespace and shape:
// the pods of one shape in one namespace match the same selectors and get the same answer from
// every per-shape predicate.
type shapeInfo struct {
	namespace string
	workload  WorkloadKey
	profile   scoring.Profile
	wl        *workloadInfo
	slos      []*sloInfo
	pdbs      []*pdbInfo
	stateful  bool
	// known has bit i set once per-shape predicate i has been asked; reasons[i] is its answer
	// (reasons is nil while every answer is nil). The answers of the rules that read the plan's
	// budgets (scopeUntilRecord) hold while no move has been recorded since they were asked: recorded
	// is Eligibility.recorded then.
	known    uint64
	reasons  []*Reason
	recorded int
	// held are the reasons the shape's rules give, worked out at record heldAt (-1: not yet):
	// every pod of the shape that no per-pod rule holds back gets this slice, shared, instead of
	// its own copy. In a large cluster most pods on hot nodes are held back by a rule of their
	// shape (not opted in, a PDB).
	held   []Reason
	heldAt int
}

// candidate is a pod under consideration with what the predicates need about it.
type candidate struct {
	pod   *Pod
	shape *shapeInfo
}

func (c *candidate) ref() PodRef {
	return PodRef{Namespace: c.pod.Namespace, Name: c.pod.Name, UID: c.pod.UID}
}

// NewEligibility indexes the snapshot for eligibility checks under a resolved policy.
func NewEligibility(s *Snapshot, cfg Config, policy *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, st State, now time.Time) *Eligibility {
	return newEligibility(s, cfg, policy, slos, st, now, replicasPerShape(s.Pods))
}

// replicasPerShape counts the active pods of each shape that has a controller (a pointer key
// hashes cheaply; NewEligibility folds the counts per controller).
func replicasPerShape(pods []*Pod) *shapeMap[int] {
	perShape := &shapeMap[int]{}
	for _, p := range pods {
		countReplica(perShape, p)
	}
	return perShape
}

func countReplica(perShape *shapeMap[int], p *Pod) {
	if p.Owner != nil && active(p) {
		add(perShape, p.Shape, 1)
	}
}

func newEligibility(s *Snapshot, cfg Config, policy *v1alpha1.RebalancePolicy, slos []*v1alpha1.WorkloadSLO, st State, now time.Time, perShape *shapeMap[int]) *Eligibility {
	e := &Eligibility{
		cfg: cfg, now: now, schedulersDown: s.SchedulersDown,
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
	// The shapes counted are nearly all the plan meets: room for their numbers at once.
	e.shapes.reserve(len(perShape.dense))
	e.shapeWorkload.reserve(len(perShape.dense))
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
			window: v1alpha1.Duration(slo.Spec.ReadinessWindow, v1alpha1.DefaultSLOReadinessWindow),
		}
		si.maxStateful = si.max
		if slo.Spec.MaxStatefulDisruptionsPerHour != nil {
			si.maxStateful = int(*slo.Spec.MaxStatefulDisruptionsPerHour)
		}
		used := ledger.Used(slo.Status.Ledger, now)
		si.used, si.usedStateful = used.Total, used.Stateful
		e.slos.add(slo.Namespace, sel, si)
	}
	if policy != nil {
		used := ledger.Used(policy.Status.Ledger, now)
		e.hourUsed, e.nsUsed = used.Total, used.ByNamespace
		for _, d := range policy.Status.Ledger {
			wk := ledgerWorkload(d)
			if wk.Kind != "" && d.Time.After(e.lastEvictedAt[wk]) {
				e.lastEvictedAt[wk] = d.Time.Time
			}
		}
	}
	// Replicas per workload: counted per shape, folded per controller.
	for sh, n := range perShape.all {
		wl := e.workloads[sh.Owner.UID]
		if wl == nil {
			wl = &workloadInfo{}
			e.workloads[sh.Owner.UID] = wl
		}
		wl.replicas += n
		e.shapeWorkload.set(sh, wl)
	}
	if len(e.slos.byNS) > 0 {
		e.podsByNS = map[string][]*Pod{}
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
func (e *Eligibility) Check(pod *Pod) []Reason {
	return e.check(e.candidate(pod))
}

// Admit is Check, and when the pod may be evicted it spends the budgets its eviction uses, as a
// planned move does: the next pod is checked with them spent.
func (e *Eligibility) Admit(pod *Pod) []Reason {
	c := e.candidate(pod)
	rs := e.check(c)
	if len(rs) == 0 {
		e.record(c)
	}
	return rs
}

func (e *Eligibility) candidate(pod *Pod) *candidate {
	c := &candidate{}
	e.fill(c, pod)
	return c
}

// fill sets up c for pod.
func (e *Eligibility) fill(c *candidate, pod *Pod) {
	*c = candidate{pod: pod, shape: e.shapeInfo(pod)}
}

// shapeInfo returns what pods of the pod's shape in its namespace share. Pods of one shape are
// nearly always in one namespace (the shape includes the controller); bare pods of one shape in
// several namespaces are worked out each time.
func (e *Eligibility) shapeInfo(pod *Pod) *shapeInfo {
	known, taken := e.shapes.get(pod.Shape)
	if taken && known.namespace == pod.Namespace {
		return known
	}
	lbls := labels.Set(pod.Labels)
	si := &shapeInfo{
		namespace: pod.Namespace,
		profile:   pod.Profile(),
		slos:      e.slos.match(pod.Namespace, lbls),
		pdbs:      e.pdbs.match(pod.Namespace, lbls),
		stateful:  pod.Stateful(),
		heldAt:    -1,
	}
	if pod.Owner != nil {
		if wl, ok := e.shapeWorkload.get(pod.Shape); ok {
			si.wl = wl
		} else {
			si.wl = e.workloads[pod.Owner.UID]
		}
		si.workload = pod.Workload()
	}
	if !taken {
		e.shapes.set(pod.Shape, si)
	}
	return si
}

func (e *Eligibility) check(c *candidate) []Reason {
	// Reasons go into a shared buffer, one allocation for many candidates; each candidate gets
	// its own capacity-capped window of it.
	if cap(e.reasonBuf)-len(e.reasonBuf) < len(predicates) {
		e.reasonBuf = make([]Reason, 0, 64*len(predicates))
	}
	start := len(e.reasonBuf)
	if sh := c.shape; sh.recorded != e.recorded {
		// A move recorded since: the budgets changed, ask those rules again.
		sh.known &^= untilRecordMask
		sh.recorded = e.recorded
	}
	if sh := c.shape; sh.heldAt == e.recorded && !e.podRuleHolds(c) {
		return sh.held
	}
	podHeld := false
	for i := range predicates {
		p := &predicates[i]
		var r *Reason
		switch sh := c.shape; {
		case p.scope == scopePod:
			r = p.check(e, c)
			podHeld = podHeld || r != nil
		case sh.known&(1<<i) != 0:
			if sh.reasons != nil {
				r = sh.reasons[i]
			}
		default:
			r = p.check(e, c)
			sh.known |= 1 << i
			if r != nil && sh.reasons == nil {
				sh.reasons = make([]*Reason, len(predicates))
			}
			if sh.reasons != nil {
				sh.reasons[i] = r // over an answer from before a recorded move too
			}
		}
		if r != nil {
			e.reasonBuf = append(e.reasonBuf, *r)
		}
	}
	var out []Reason
	if len(e.reasonBuf) > start {
		out = e.reasonBuf[start:len(e.reasonBuf):len(e.reasonBuf)]
	}
	if sh := c.shape; !podHeld {
		// Every rule of the shape is known now, and no rule of the pod's own took part: this is
		// the shape's answer until the next recorded move.
		sh.held, sh.heldAt = out, e.recorded
	}
	return out
}

// podRuleHolds reports whether a rule that reads the pod itself (scopePod) holds c back.
func (e *Eligibility) podRuleHolds(c *candidate) bool {
	for _, i := range podRules {
		if predicates[i].check(e, c) != nil {
			return true
		}
	}
	return false
}

// predicate is one eligibility rule: nil when the pod passes, else why it does not.
type predicate struct {
	name  string
	check func(e *Eligibility, c *candidate) *Reason
	scope predicateScope
}

// predicateScope says what a rule's answer depends on, and so how long it may be memoised.
type predicateScope int

const (
	// scopePod rules read the pod itself (its phase, start, readiness): asked for every pod.
	scopePod predicateScope = iota
	// scopeShape rules read only the pod's namespace and Shape (and the policy): every pod of a
	// shape gets the same answer, worked out once per plan.
	scopeShape
	// scopeUntilRecord rules read the pod's namespace and Shape and the budgets the plan spends
	// (record): every pod of a shape gets the same answer until the next move is recorded. In a
	// large cluster tens of thousands of pods are checked before the first move.
	scopeUntilRecord
)

// predicates are every eligibility rule, in the order their reasons are reported.
var predicates = []predicate{
	{"optedIn", (*Eligibility).optedIn, scopeShape},
	{"daemonSet", (*Eligibility).daemonSet, scopeShape},
	{"mirror", (*Eligibility).mirror, scopeShape},
	{"running", (*Eligibility).running, scopePod},
	{"systemCritical", (*Eligibility).systemCritical, scopeShape},
	{"priority", (*Eligibility).priority, scopeShape},
	{"localStorage", (*Eligibility).localStorage, scopeShape},
	{"pinned", (*Eligibility).pinned, scopeShape},
	{"controller", (*Eligibility).controller, scopeShape},
	{"scheduler", (*Eligibility).schedulerUp, scopeShape},
	{"replicas", (*Eligibility).replicas, scopeUntilRecord},
	{"minAvailable", (*Eligibility).minAvailable, scopePod},
	{"stateful", (*Eligibility).stateful, scopeUntilRecord},
	{"age", (*Eligibility).age, scopePod},
	{"backoff", (*Eligibility).inBackoff, scopeUntilRecord},
	{"sloBudget", (*Eligibility).sloBudget, scopeUntilRecord},
	{"readinessWindow", (*Eligibility).readinessWindow, scopeUntilRecord},
	{"namespaceBudget", (*Eligibility).namespaceBudget, scopeUntilRecord},
	{"pdb", (*Eligibility).pdb, scopeUntilRecord},
	{"hourlyLimit", (*Eligibility).hourlyLimit, scopeUntilRecord},
}

// podRules are the indexes of the scopePod rules.
var podRules = func() []int {
	var out []int
	for i, p := range predicates {
		if p.scope == scopePod {
			out = append(out, i)
		}
	}
	return out
}()

// untilRecordMask has bit i set for each scopeUntilRecord rule i.
var untilRecordMask = func() uint64 {
	var m uint64
	for i, p := range predicates {
		if p.scope == scopeUntilRecord {
			m |= 1 << i
		}
	}
	return m
}()

func reason(code ReasonCode, format string, args ...any) *Reason {
	return &Reason{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Eligibility) optedIn(c *candidate) *Reason {
	p := c.pod
	if !e.cfg.PodSelector.Matches(labels.Set(p.Labels)) {
		// The same for every shape, and most shapes of a large cluster may give it: made once.
		if e.unselected == nil {
			e.unselected = reason(ReasonNotOptedIn, "not opted in: labels do not match the policy's podSelector %s", e.podSelectorText)
		}
		return e.unselected
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

// schedulerUp: the pod's scheduler must be running to place its replacement.
func (e *Eligibility) schedulerUp(c *candidate) *Reason {
	if why, down := e.schedulersDown[schedulerOf(c.pod)]; down {
		return reason(ReasonSchedulerUnavailable, "its scheduler %s is not running: %s", schedulerOf(c.pod), why)
	}
	return nil
}

func (e *Eligibility) daemonSet(c *candidate) *Reason {
	if c.pod.Owner != nil && c.pod.Owner.Kind == "DaemonSet" {
		return reason(ReasonDaemonSet, "DaemonSet pod: its replacement would come back to the same node")
	}
	return nil
}

func (e *Eligibility) mirror(c *candidate) *Reason {
	if _, ok := c.pod.Annotations[corev1.MirrorPodAnnotationKey]; ok || (c.pod.Owner != nil && c.pod.Owner.Kind == "Node") {
		return reason(ReasonMirrorPod, "static (mirror) pod: the kubelet owns it")
	}
	return nil
}

// running: the eviction API skips PodDisruptionBudgets for pods that are not running, so such
// pods are never treated as safe candidates.
func (e *Eligibility) running(c *candidate) *Reason {
	p := c.pod
	if p.Deleting {
		return reason(ReasonNotRunning, "terminating")
	}
	if p.Phase != corev1.PodRunning {
		return reason(ReasonNotRunning, "phase %s: only Running pods are candidates (the eviction API would bypass PodDisruptionBudgets)", p.Phase)
	}
	return nil
}

func (e *Eligibility) systemCritical(c *candidate) *Reason {
	p := c.pod
	switch {
	case p.PriorityClassName == "system-node-critical" || p.PriorityClassName == "system-cluster-critical":
		return reason(ReasonSystemCritical, "system-critical: priorityClassName %s", p.PriorityClassName)
	case p.Priority != nil && *p.Priority >= systemCriticalPriority:
		return reason(ReasonSystemCritical, "system-critical: priority %d", *p.Priority)
	}
	return nil
}

// systemCriticalPriority is scheduling.SystemCriticalPriority: priorities from here up are
// reserved for system-critical pods.
const systemCriticalPriority = 2000000000

func (e *Eligibility) priority(c *candidate) *Reason {
	if p := c.pod.Priority; p != nil && *p >= e.cfg.PriorityThreshold {
		return reason(ReasonHighPriority, "priority %d at or above the policy's threshold %d", *p, e.cfg.PriorityThreshold)
	}
	return nil
}

func (e *Eligibility) localStorage(c *candidate) *Reason {
	size := c.pod.LocalStorage
	if size == UnboundedStorage {
		return reason(ReasonLocalStorage, "local storage: an emptyDir without sizeLimit and no ephemeral-storage limit may hold more than maxLocalStorage (%s)", bytesString(e.cfg.MaxLocalStorage))
	}
	if size > e.cfg.MaxLocalStorage {
		return reason(ReasonLocalStorage, "local storage %s above maxLocalStorage %s", bytesString(size), bytesString(e.cfg.MaxLocalStorage))
	}
	return nil
}

func (e *Eligibility) pinned(c *candidate) *Reason {
	if c.pod.Annotations[e.cfg.PinnedAnnotation] == "true" {
		return reason(ReasonPinned, "pinned by annotation %s", e.cfg.PinnedAnnotation)
	}
	return nil
}

func (e *Eligibility) controller(c *candidate) *Reason {
	if c.pod.Owner == nil {
		return reason(ReasonBarePod, "no controller: nothing would replace a bare pod")
	}
	return nil
}

func (e *Eligibility) replicas(c *candidate) *Reason {
	if c.pod.Owner == nil || c.shape.wl == nil {
		return nil
	}
	if left := c.shape.wl.replicas - e.inPlan[c.shape.workload]; left <= 1 {
		return reason(ReasonSingleReplica, "only replica of %s left running", c.shape.workload)
	}
	return nil
}

func (e *Eligibility) minAvailable(c *candidate) *Reason {
	for _, si := range c.shape.slos {
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
		if c.pod.Ready {
			after--
		}
		if after < min {
			return reason(ReasonMinAvailable, "below WorkloadSLO %s minAvailable: %d of %d pods would stay Ready, %d required", si.key, max(after, 0), si.matched, min)
		}
	}
	return nil
}

func (e *Eligibility) stateful(c *candidate) *Reason {
	if !c.shape.stateful {
		return nil
	}
	for _, si := range c.shape.slos {
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
	start := c.pod.Started()
	if start.IsZero() {
		start = c.pod.Created()
	}
	if age := e.now.Sub(start); age < e.cfg.MinPodAge {
		return reason(ReasonTooYoung, "younger than minPodAge: running %s of %s", age.Round(time.Second), e.cfg.MinPodAge)
	}
	return nil
}

func (e *Eligibility) inBackoff(c *candidate) *Reason {
	if c.pod.Owner == nil {
		return nil
	}
	if n := e.inPlan[c.shape.workload]; n > 0 && e.cfg.PodBackoff > 0 {
		return reason(ReasonWorkloadInPlan, "%s already has a pod evicted in this plan; it is backed off for %s", c.shape.workload, e.cfg.PodBackoff)
	}
	if t, ok := e.lastEvictedAt[c.shape.workload]; ok && e.cfg.PodBackoff > 0 && e.now.Before(t.Add(e.cfg.PodBackoff)) {
		return reason(ReasonBackoff, "in backoff until %s: %s had a pod evicted at %s (podBackoff %s)",
			t.Add(e.cfg.PodBackoff).UTC().Format(time.RFC3339), c.shape.workload, t.UTC().Format(time.RFC3339), e.cfg.PodBackoff)
	}
	if b, ok := e.backoff[c.shape.workload]; ok && e.now.Before(b.Until) {
		return reason(ReasonBackoff, "in backoff until %s: %s", b.Until.UTC().Format(time.RFC3339), b.Reason)
	}
	return nil
}

func (e *Eligibility) sloBudget(c *candidate) *Reason {
	for _, si := range c.shape.slos {
		if used := si.used + si.planned; used >= si.max {
			return reason(ReasonSLOBudget, "WorkloadSLO %s budget exhausted: %d of %d disruptions used in the last hour", si.key, used, si.max)
		}
	}
	return nil
}

func (e *Eligibility) readinessWindow(c *candidate) *Reason {
	for _, si := range c.shape.slos {
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
	switch len(c.shape.pdbs) {
	case 0:
		return nil
	case 1:
		pi := c.shape.pdbs[0]
		if left := int(pi.pdb.Status.DisruptionsAllowed) - pi.planned; left <= 0 {
			return reason(ReasonPDBNoDisruptions, "PodDisruptionBudget %s allows no disruption now", pi.pdb.Name)
		}
		return nil
	default:
		names := make([]string, len(c.shape.pdbs))
		for i, pi := range c.shape.pdbs {
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
		ready, since := p.Ready, p.ReadySince()
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
	e.recorded++
	e.hourPlanned++
	e.nsPlanned[c.pod.Namespace]++
	e.inPlan[c.shape.workload]++
	for _, si := range c.shape.slos {
		si.planned++
		if c.shape.stateful {
			si.plannedStatefl++
		}
	}
	for _, pi := range c.shape.pdbs {
		pi.planned++
	}
}

func active(p *Pod) bool {
	return !p.Deleting && (p.Phase == corev1.PodRunning || p.Phase == corev1.PodPending)
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
