package evictor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor"
)

// Fault: the evictor dies (kill -9) after it wrote the eviction into the ledger and before the
// eviction call reached the API server. The instance reaches the API server through a proxy the
// test cuts at that moment, so nothing it does afterwards (the call, releasing the entry) arrives:
// to the API server it is gone. A new instance then starts. Invariants, read from the API server:
// the pod was not evicted, the ledger keeps the entry (the budget counts it: over-counting is the
// safe side), and with maxEvictionsPerHour 1 the new instance evicts nothing and says why.
func TestCrashBetweenLedgerAndEviction(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"web": 2, "api": 2})
	proxy := newCuttableProxy(t, env.Config.Host)
	// The process dies before the call: nothing it sends from now on arrives.
	hook, reached := proxy.cutAtFirstEviction(false)
	stopCutOff(t, startEvictor(t, s.src, options{config: proxy.config(), evicter: hook}))
	oneAtATime(s, 1)
	await(t, reached, "the evictor never reached the eviction call")
	t.Log("injected: the evictor's connection to the API server cut between the write-ahead ledger entry and the eviction call")

	p := s.policyNow()
	if n := len(p.Status.Ledger); n != 1 {
		t.Fatalf("ledger has %d entries after the crash, want the 1 written ahead", n)
	}
	if n := s.evictedCount(pods...); n != 0 {
		t.Fatalf("%d pods evicted, want none: the call never arrived", n)
	}

	start := time.Now()
	startEvictor(t, s.src, options{})
	p = s.waitCycle(start)
	time.Sleep(2 * time.Second) // room for a wrong eviction to happen
	if n := s.evictedCount(pods...); n != 0 {
		t.Errorf("%d pods evicted by the new instance, want none: the hourly limit of 1 is spent by the crashed attempt", n)
	}
	if n := len(s.policyNow().Status.Ledger); n != 1 {
		t.Errorf("ledger has %d entries, want 1", n)
	}
	if got := heldFor(p, "HourlyLimit"); got == 0 {
		t.Errorf("the new instance's plan holds nothing back for HourlyLimit: %+v", p.Status.LastPlan)
	}
	t.Logf("held: no pod evicted, 1 ledger entry, hourly limit counted it (%d held back for HourlyLimit)", heldFor(p, "HourlyLimit"))
}

// Fault: metrics-server stops answering fresh readings, then fails outright. The evictor evicts
// while readings are fresh, none once they are older than staleAfter, none while the source
// fails; the status says which.
func TestNoEvictionOnStaleOrMissingReadings(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	s := newScenario(t)
	s.now = clk.Now()
	_, pods := skewed(s, map[string]int{"web": 3, "api": 3})
	startEvictor(t, s.src, options{clock: clk})
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.RateLimits.MaxEvictionsPerCycle, p.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](1), ptr.To[int32](1)
		p.Metrics = &v1alpha1.MetricsSource{StaleAfter: &metav1.Duration{Duration: 30 * time.Second}}
	})
	s.waitCycle(clk.Now())
	s.eventually("an eviction on fresh readings", func() bool { return s.evictedCount(pods...) == 1 })

	// The readings stop: 31s later they are stale.
	clk.Step(31 * time.Second)
	p := s.waitCycle(clk.Now())
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonMetricsStale {
		t.Errorf("MetricsAvailable %+v with readings 31s old (staleAfter 30s), want False/%s", c, v1alpha1.ReasonMetricsStale)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("Ready %+v with stale readings, want False", c)
	}
	if p.Status.Sigma != nil {
		t.Errorf("status.sigma %v with stale readings, want none (no figure of an older cycle)", *p.Status.Sigma)
	}

	// The source fails outright.
	s.src.fail(errors.New("metrics-server: the server is currently unable to handle the request"))
	clk.Step(11 * time.Second)
	p = s.waitCycle(clk.Now())
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSourceUnavailable {
		t.Errorf("MetricsAvailable %+v with the source failing, want False/%s", c, v1alpha1.ReasonSourceUnavailable)
	}
	if n := s.evictedCount(pods...); n != 1 {
		t.Errorf("%d pods evicted, want only the 1 evicted on fresh readings", n)
	}
	t.Log("injected: readings frozen past staleAfter, then a failing source; held: 1 eviction on fresh readings, none after, status MetricsStale then SourceUnavailable")
}

// Fault: a lagging metrics-server. First its readings lag behind (timestamped 31s before the
// cycle, staleAfter 30s), then it answers slower than the evictor waits for a read (5s against a
// 1s timeout). Invariants: no eviction while it lags; a slow answer does not hold the cycle up (it
// ends, and the status says the source is unavailable); once it keeps up, evictions resume.
func TestLaggingMetricsServer(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	s := newScenario(t)
	s.now = clk.Now()
	_, pods := skewed(s, map[string]int{"web": 3, "api": 3})
	s.src.stamp(clk.Now().Add(-31 * time.Second))
	startEvictor(t, s.src, options{clock: clk, sourceTimeout: time.Second})
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.RateLimits.MaxEvictionsPerCycle, p.RateLimits.MaxEvictionsPerNodePerCycle = ptr.To[int32](1), ptr.To[int32](1)
		p.Metrics = &v1alpha1.MetricsSource{StaleAfter: &metav1.Duration{Duration: 30 * time.Second}}
	})
	p := s.waitCycle(clk.Now())
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonMetricsStale {
		t.Errorf("MetricsAvailable %+v with readings 31s behind (staleAfter 30s), want False/%s", c, v1alpha1.ReasonMetricsStale)
	}
	if n := s.evictedCount(pods...); n != 0 {
		t.Fatalf("%d pods evicted on readings 31s behind, want none", n)
	}

	// Fresh readings, but each answer takes 5s: the evictor gives up after 1s.
	s.src.answerAfter(5 * time.Second)
	clk.Step(11 * time.Second)
	s.src.stamp(clk.Now())
	p = s.waitCycle(clk.Now())
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSourceUnavailable {
		t.Errorf("MetricsAvailable %+v with the source answering after 5s (timeout 1s), want False/%s", c, v1alpha1.ReasonSourceUnavailable)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("Ready %+v with the source timing out, want False", c)
	}
	if n := s.evictedCount(pods...); n != 0 {
		t.Fatalf("%d pods evicted while the source timed out, want none", n)
	}

	// It keeps up again.
	s.src.answerAfter(0)
	clk.Step(11 * time.Second)
	s.src.stamp(clk.Now())
	s.waitCycle(clk.Now())
	s.eventually("an eviction once the readings are fresh and prompt", func() bool { return s.evictedCount(pods...) == 1 })
	p = s.policyNow()
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionMetricsAvailable); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("MetricsAvailable %+v with fresh, prompt readings, want True", c)
	}
	t.Log("injected: readings 31s behind (staleAfter 30s), then answers after 5s (read timeout 1s); held: no eviction while it lagged, " +
		"each cycle ended with MetricsStale then SourceUnavailable, 1 eviction once it kept up")
}

// evictionsByWorkload counts the evicted pods (named app-x), in all and by workload.
func evictionsByWorkload(s *scenario, pods []string) (int, map[string]int) {
	workloads := map[string]int{}
	evicted := 0
	for _, name := range pods {
		if s.evicted(name) {
			evicted++
			workloads[strings.SplitN(name, "-", 2)[0]]++
		}
	}
	return evicted, workloads
}

// stopCutOff stops an instance cut off from the API server at the end of the test, without the
// harness' check: it ends with errors (leader election lost, requests refused), as a process cut
// off would.
func stopCutOff(t *testing.T, in *instance) {
	stop := in.cancel
	in.cancel = nil
	t.Cleanup(func() {
		stop()
		select {
		case err := <-in.done:
			t.Logf("the cut-off instance stopped: %v", err)
		case <-time.After(45 * time.Second):
		}
	})
}

type evicterFunc func(ctx context.Context, pod *corev1.Pod, ev *policyv1.Eviction) error

func (f evicterFunc) Evict(ctx context.Context, pod *corev1.Pod, ev *policyv1.Eviction) error {
	return f(ctx, pod, ev)
}

// cuttableProxy forwards TCP to the API server until cut: then it closes every connection and
// refuses new ones, as the network does for a process that died.
type cuttableProxy struct {
	url      string
	upstream string
	l        net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	done     bool
}

func newCuttableProxy(t *testing.T, host string) *cuttableProxy {
	t.Helper()
	u, err := url.Parse(host)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{url: "https://" + l.Addr().String(), upstream: u.Host, l: l}
	go p.serve(l)
	t.Cleanup(p.cut)
	return p
}

func (p *cuttableProxy) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// resume listens again at the same address, as an API server back from a restart.
func (p *cuttableProxy) resume(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	l, err := net.Listen("tcp", p.l.Addr().String())
	if err != nil {
		t.Fatalf("listening again at %s: %v", p.l.Addr(), err)
	}
	p.l, p.done, p.conns = l, false, nil
	go p.serve(l)
}

// config reaches the API server through the proxy.
func (p *cuttableProxy) config() *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = p.url
	cfg.Timeout = 5 * time.Second
	return cfg
}

// cutAtFirstEviction wraps the eviction call so that the proxy is cut at the first one: before the
// call (afterCall false: it never arrives) or right after it went through. The channel closes then.
func (p *cuttableProxy) cutAtFirstEviction(afterCall bool) (func(evictor.PodEvicter) evictor.PodEvicter, <-chan struct{}) {
	var once sync.Once
	cut := make(chan struct{})
	cutOnce := func() { once.Do(func() { p.cut(); close(cut) }) }
	return func(inner evictor.PodEvicter) evictor.PodEvicter {
		return evicterFunc(func(ctx context.Context, pod *corev1.Pod, ev *policyv1.Eviction) error {
			if !afterCall {
				cutOnce()
			}
			err := inner.Evict(ctx, pod, ev)
			if afterCall {
				cutOnce()
			}
			return err
		})
	}, cut
}

func (p *cuttableProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	p.conns = append(p.conns, cs...)
	return true
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	_ = p.l.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// Fault: the leader loses the API server (and so its Lease) right after an eviction call went
// through, before it could do anything more; the standby takes over mid-flight. Invariants, read
// from the API server after the new leader has run several cycles: every evicted pod has its
// ledger entry and no entry lacks its eviction, no workload was evicted twice within its backoff,
// and the hourly limit holds.
func TestLeaderChangeWithEvictionInFlight(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"web": 3, "api": 3, "db": 3})
	proxy := newCuttableProxy(t, env.Config.Host)
	// The call goes through; the leader is cut off before anything else.
	hook, inFlight := proxy.cutAtFirstEviction(true)
	old := startEvictor(t, s.src, options{leaderElect: true, identity: "-old", config: proxy.config(), evicter: hook})
	stopCutOff(t, old)
	s.eventually("the first instance to lead", func() bool {
		select {
		case <-old.elected:
			return true
		default:
			return false
		}
	})
	standby := startEvictor(t, s.src, options{leaderElect: true, identity: "-standby"})
	oneAtATime(s, 3)
	await(t, inFlight, "the leader never evicted")
	t.Log("injected: the leader cut off from the API server right after its first eviction call")
	s.eventually("the standby to lead", func() bool {
		select {
		case <-standby.elected:
			return true
		default:
			return false
		}
	})
	// Three cycles of the new leader (10s apart).
	after := time.Now()
	for i := 0; i < 3; i++ {
		after = s.waitCycle(after).Status.LastCycleTime.Add(time.Second)
	}

	p := s.policyNow()
	evicted, workloads := evictionsByWorkload(s, pods)
	if evicted != len(p.Status.Ledger) {
		t.Errorf("%d pods evicted, %d ledger entries: want one entry per eviction (%+v)", evicted, len(p.Status.Ledger), p.Status.Ledger)
	}
	if evicted == 0 || evicted > 3 {
		t.Errorf("%d pods evicted, want 1 to 3 (hourly limit 3)", evicted)
	}
	for wl, n := range workloads {
		if n > 1 {
			t.Errorf("workload %s evicted %d times within its backoff", wl, n)
		}
	}
	t.Logf("held: %d evictions across the leader change, %d ledger entries, by workload %v", evicted, len(p.Status.Ledger), workloads)
}

// Fault: the API server goes away for 20s in the middle of the evictor's work (every connection
// dropped and new ones refused, as while it restarts), then comes back at the same address. The
// evictor reconnects and goes on; held, from the API server: evictions resume, one ledger entry
// per eviction, no workload twice within its backoff, the hourly limit kept.
func TestAPIServerOutageMidCycle(t *testing.T) {
	s := newScenario(t)
	_, pods := skewed(s, map[string]int{"web": 3, "api": 3, "db": 3})
	proxy := newCuttableProxy(t, env.Config.Host)
	// Mid-cycle: the eviction goes through, the status writes that follow do not.
	hook, down := proxy.cutAtFirstEviction(true)
	startEvictor(t, s.src, options{config: proxy.config(), evicter: hook})
	oneAtATime(s, 3)
	await(t, down, "the evictor never evicted")
	time.Sleep(20 * time.Second)
	proxy.resume(t)
	t.Log("injected: the API server unreachable for 20s right after an eviction call, then back at the same address")

	s.eventually("evictions to resume after the outage", func() bool { return s.evictedCount(pods...) >= 2 })
	after := time.Now()
	for i := 0; i < 2; i++ {
		after = s.waitCycle(after).Status.LastCycleTime.Add(time.Second)
	}
	p := s.policyNow()
	evicted, workloads := evictionsByWorkload(s, pods)
	if evicted != len(p.Status.Ledger) || evicted > 3 {
		t.Errorf("%d pods evicted, %d ledger entries: want one entry per eviction, at most 3 (%+v)", evicted, len(p.Status.Ledger), p.Status.Ledger)
	}
	for wl, n := range workloads {
		if n > 1 {
			t.Errorf("workload %s evicted %d times within its backoff", wl, n)
		}
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready %+v after the outage, want True", c)
	}
	t.Logf("held: %d evictions, %d ledger entries, by workload %v; Ready again", evicted, len(p.Status.Ledger), workloads)
}

// oneAtATime creates the scenario's policy with one eviction a cycle (and a node) and the hourly
// limit given, so that a fault lands between two evictions.
func oneAtATime(s *scenario, hourly int32) {
	s.createPolicy(func(p *v1alpha1.RebalancePolicySpec) {
		p.RateLimits = &v1alpha1.RateLimits{MaxEvictionsPerCycle: ptr.To[int32](1), MaxEvictionsPerNodePerCycle: ptr.To[int32](1), MaxEvictionsPerHour: ptr.To(hourly)}
	})
}

// await waits up to two minutes for the fault's moment (a hook's channel), failing with what did
// not happen.
func await(t *testing.T, ch <-chan struct{}, never string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatal(never)
	}
}
