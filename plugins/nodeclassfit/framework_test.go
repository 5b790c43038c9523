package nodeclassfit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	clientsetfake "k8s.io/client-go/kubernetes/fake"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedulermetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"
	"k8s.io/utils/clock"

	"github.com/tinorodney/rebalancer/apis/config"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/metrics"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

// The plugin built by its factory inside the scheduler framework, with its collector reading
// fake clients and a static usage source: the path kube-scheduler takes, minus the API server
// (test/scheduler has that one).
func TestPluginInTheFramework(t *testing.T) {
	schedulermetrics.Register() // the framework records into kube-scheduler's metrics
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	nodes := []*corev1.Node{node("x86-hot", "amd64"), node("x86-ok", "amd64"), node("rpi-1", "arm64")}
	cs := clientsetfake.NewClientset(nodes[0], nodes[1], nodes[2])
	factory := informers.NewSharedInformerFactory(cs, 0)
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// The collector's refresh timers need a clock that moves: readings are taken "now" by it.
	clk := clock.RealClock{}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{nodeClassesGVR: "NodeClassList", policiesGVR: "RebalancePolicyList"},
		x86Class(), rpiClass(), rebalancePolicy(clk.Now().Add(-time.Minute), "x86-hot"))
	read := func(milliCPU, memGi float64) usage.Sample {
		return usage.Sample{MilliCPU: milliCPU, Memory: memGi * gi, Time: clk.Now()}
	}
	src := &usage.Static{Readings: usage.Readings{Nodes: map[string]usage.Sample{
		"x86-hot": read(500, 1), "x86-ok": read(1500, 3), "rpi-1": read(500, 1),
	}, Pods: map[types.NamespacedName]usage.Sample{}}}
	reg := prometheus.NewRegistry()
	// newFramework builds a profile with the plugin; its snapshots arrive on the channel returned.
	newFramework := func(profile string) (framework.Framework, chan Summary) {
		snapshots := make(chan Summary, 16)
		opts := []Option{
			WithSource(src), WithDynamicClient(dyn), WithRegisterer(reg), WithClock(clk),
			WithSnapshotHook(func(s Summary) {
				select {
				case snapshots <- s:
				default:
				}
			}),
		}
		fw, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
			tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
			tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
			tf.RegisterPluginAsExtensionsWithWeight(Name, 5, NewFactory(opts...), "PreScore", "Score", "Reserve", "PostBind"),
		}, profile, frameworkruntime.WithInformerFactory(factory), frameworkruntime.WithClientSet(cs))
		if err != nil {
			t.Fatal(err)
		}
		return fw, snapshots
	}
	// Two profiles enabling the plugin share one set of metrics in the registry.
	fw, snapshots := newFramework(v1alpha1.SchedulerName)
	other, otherSnapshots := newFramework("rebalancer-scheduler-2")
	defer func() {
		if err := other.Close(); err != nil {
			t.Error(err)
		}
	}()
	factory.Start(ctx.Done())

	var sum Summary
	for _, ch := range []chan Summary{snapshots, otherSnapshots} {
		select {
		case sum = <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("no snapshot published within 30s")
		}
		if sum.Nodes != 3 || sum.Measured != 3 || !sum.HotFromStatus || strings.Join(sum.Hot, ",") != "x86-hot" {
			t.Fatalf("first snapshot = %+v, want 3 measured nodes and x86-hot hot from the status", sum)
		}
	}

	p := pod("web-1", "1", "1Gi", "cpu-bound")
	var infos []fwk.NodeInfo
	for _, n := range nodes {
		infos = append(infos, nodeInfo(n))
	}
	state := framework.NewCycleState()
	if s := fw.RunPreScorePlugins(ctx, state, p, infos); !s.IsSuccess() {
		t.Fatal(s)
	}
	scores, s := fw.RunScorePlugins(ctx, state, p, infos)
	if !s.IsSuccess() {
		t.Fatal(s)
	}
	best, lowest := scores[0], scores[0]
	for _, ns := range scores {
		if ns.TotalScore > best.TotalScore {
			best = ns
		}
		if ns.TotalScore < lowest.TotalScore {
			lowest = ns
		}
	}
	if best.Name != "x86-ok" || lowest.Name != "x86-hot" {
		t.Errorf("best %s, lowest %s, want x86-ok and x86-hot (scores %+v)", best.Name, lowest.Name, scores)
	}

	if s := fw.RunReservePluginsReserve(ctx, state, p, best.Name); !s.IsSuccess() {
		t.Fatal(s)
	}
	fw.RunPostBindPlugins(ctx, state, p, best.Name)
	other.RunPostBindPlugins(ctx, framework.NewCycleState(), p, "rpi-1")
	m, err := registerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := promtestutil.ToFloat64(m.Placements.WithLabelValues("x86", "normal")); got != 1 {
		t.Errorf("%s{nodeclass=x86,classification=normal} = %v, want 1", metrics.PlacementsName, got)
	}
	if got := promtestutil.ToFloat64(m.Placements.WithLabelValues("rpi4", "normal")); got != 1 {
		t.Errorf("%s{nodeclass=rpi4,classification=normal} = %v, want 1 (from the second profile)", metrics.PlacementsName, got)
	}
	if got := promtestutil.CollectAndCount(m.ScoreDuration); got != 1 {
		t.Errorf("%s series = %d, want 1", metrics.ScoreDurationName, got)
	}

	// Close stops the collector.
	done := make(chan error)
	go func() { done <- fw.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Close did not stop the collector within 10s")
	}
}

func TestNewRejectsBadArgs(t *testing.T) {
	schedulermetrics.Register()
	ctx := context.Background()
	fw, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
		tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
		tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	bad := &config.RebalancerNodeClassFitArgs{PlacementWeights: config.PlacementWeights{Headroom: -1}, PolicyName: "Bad_Name"}
	_, err = NewFactory(WithRegisterer(prometheus.NewRegistry()))(ctx, bad, fw)
	if err == nil {
		t.Fatal("bad args were accepted")
	}
	for _, want := range []string{"invalid RebalancerNodeClassFitArgs", "placementWeights.headroom", "policyName", "usageRefreshInterval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := New(ctx, &corev1.Pod{}, fw); err == nil || !strings.Contains(err.Error(), "want args of type RebalancerNodeClassFitArgs") {
		t.Errorf("args of the wrong type: err = %v", err)
	}
}
