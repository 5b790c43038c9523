package scheduler

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/usage"
	"github.com/tinorodney/rebalancer/plugins/nodeclassfit"
)

const (
	throughputPods = 1000
	// workers create objects in parallel: the API server, not the test, should be the limit.
	workers = 16
)

// throughputNodes is 500, or THROUGHPUT_NODES (5000 measures what scoring every node costs at the
// size where the default profile scores 10% of them).
var throughputNodes = func() int {
	if n, err := strconv.Atoi(os.Getenv("THROUGHPUT_NODES")); err == nil && n > 0 {
		return n
	}
	return 500
}()

// defaultProfile is kube-scheduler's default profile, the baseline.
const defaultProfile = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: default-scheduler
`

// everyNodeScheduler is the scheduler name of defaultEveryNode.
const everyNodeScheduler = "default-every-node"

// defaultEveryNode is kube-scheduler's default profile with every feasible node scored, as ours
// does: the second baseline, which tells what scoring every node costs from what our plugin adds.
const defaultEveryNode = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: ` + everyNodeScheduler + `
    percentageOfNodesToScore: 100
`

// nowSource serves fixed readings stamped with the time of each read, so they never go stale
// however long the benchmark runs.
type nowSource struct{ readings usage.Readings }

func (s *nowSource) Read(context.Context) (usage.Readings, error) {
	out := usage.Readings{Nodes: make(map[string]usage.Sample, len(s.readings.Nodes)), Pods: map[types.NamespacedName]usage.Sample{}}
	now := time.Now()
	for n, smp := range s.readings.Nodes {
		smp.Time = now
		out.Nodes[n] = smp
	}
	return out, nil
}

// BenchmarkThroughput compares the scheduling throughput (pods/s) of the rebalancer-scheduler
// profile from manifests/scheduler against kube-scheduler's default profile, and against the
// default profile with every feasible node scored as ours does (percentageOfNodesToScore: 100;
// the default scores 10% at 5,000 nodes), scheduler_perf
// style: 500 nodes of two NodeClasses (half of them x86, half Raspberry Pi, one in twenty hot in
// the evictor's status, every node with a usage reading), then 1,000 pods created while no
// scheduler runs; the scheduler starts, and the bind rate between the 10th and the 90th
// percentile bind is measured, with the CPU the scheduler (in this process) spent per pod over
// the same span, which tells how many cores of its own a rate would take.
// Every run uses the same pods (half cpu-bound, half memory-bound, ten controllers) and the same
// client QPS (500). Run it alone (README.md):
//
//	go test ./test/scheduler -run '^$' -bench BenchmarkThroughput -benchtime 1x -timeout 30m
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	cs := clientset(b)
	readings := usage.Readings{Nodes: map[string]usage.Sample{}}
	var hot []string
	names := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				arch := "amd64"
				if i%2 == 1 {
					arch = "arm64"
				}
				n := testNode(fmt.Sprintf("tp-node-%05d", i), "16", "64Gi", map[string]string{"kubernetes.io/arch": arch, "rebalancer.test/suite": "throughput"})
				if err := createNode(ctx, cs, n); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < throughputNodes; i++ {
		name := fmt.Sprintf("tp-node-%05d", i)
		readings.Nodes[name] = usage.Sample{MilliCPU: float64(1000 + (i*37)%8000), Memory: float64((4 + i%24) << 30)}
		if i%20 == 0 {
			hot = append(hot, name)
		}
		select {
		case names <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(names)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.Cleanup(func() { _ = deleteNodes(ctx, cs, "rebalancer.test/suite=throughput") })

	for _, c := range []*v1alpha1.NodeClass{
		nodeClass("tp-x86", 60, 1, map[string]string{"kubernetes.io/arch": "amd64"}, v1alpha1.ProfileCPUBound),
		nodeClass("tp-rpi4", 40, 0.5, map[string]string{"kubernetes.io/arch": "arm64"}, v1alpha1.ProfileMemoryBound),
	} {
		if err := env.Client.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = env.Client.Delete(ctx, c) })
	}
	policy := &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if err := env.Client.Create(ctx, policy); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Client.Delete(ctx, policy) })
	policy.Status.HotNodeNames, policy.Status.HotNodes = hot, int32(len(hot))
	policy.Status.LastCycleTime = ptr.To(metav1.Now())
	if err := env.Client.Status().Update(ctx, policy); err != nil {
		b.Fatal(err)
	}

	var defTotal, everyTotal, oursTotal, defCPU, everyCPU, oursCPU float64
	round := 0
	for b.Loop() {
		round++
		runs := []func() throughput{
			func() throughput {
				return runThroughput(b, cs, fmt.Sprintf("tp-default-%d", round), corev1.DefaultSchedulerName, schedulerConfig(b, defaultProfile), nil)
			},
			func() throughput {
				return runThroughput(b, cs, fmt.Sprintf("tp-every-%d", round), everyNodeScheduler, schedulerConfig(b, defaultEveryNode), nil)
			},
			func() throughput {
				var snaps snapshotWaiter
				return runThroughput(b, cs, fmt.Sprintf("tp-ours-%d", round), v1alpha1.SchedulerName, schedulerConfig(b, ""), &snaps,
					nodeclassfit.WithSource(&nowSource{readings: readings}), snaps.option())
			},
		}
		// Rotate which profile goes first, so none always runs in a warmer process.
		got := make([]throughput, len(runs))
		for i := range runs {
			k := (i + round - 1) % len(runs)
			got[k] = runs[k]()
		}
		def, every, ours := got[0], got[1], got[2]
		defTotal, everyTotal, oursTotal = defTotal+def.podsPerSecond, everyTotal+every.podsPerSecond, oursTotal+ours.podsPerSecond
		defCPU, everyCPU, oursCPU = defCPU+def.cpuPerPod, everyCPU+every.cpuPerPod, oursCPU+ours.cpuPerPod
		b.Logf("round %d: default %.1f pods/s (%.2f CPU-ms/pod), default with every node scored %.1f pods/s (%.2f), rebalancer-scheduler %.1f pods/s (%.2f) (%.0f%% of default, %.0f%% of default with every node scored)",
			round, def.podsPerSecond, def.cpuPerPod, every.podsPerSecond, every.cpuPerPod, ours.podsPerSecond, ours.cpuPerPod,
			100*ours.podsPerSecond/def.podsPerSecond, 100*ours.podsPerSecond/every.podsPerSecond)
	}
	b.ReportMetric(defTotal/float64(round), "default-pods/s")
	b.ReportMetric(everyTotal/float64(round), "default-every-node-pods/s")
	b.ReportMetric(oursTotal/float64(round), "ours-pods/s")
	b.ReportMetric(oursTotal/defTotal, "ours/default")
	b.ReportMetric(oursTotal/everyTotal, "ours/default-every-node")
	// The scheduler's CPU per pod: 1000 / CPU-ms per pod is about the pods/s one core of its own
	// would place. Contention for caches and memory with the other processes still moves it.
	b.ReportMetric(defCPU/float64(round), "default-cpu-ms/pod")
	b.ReportMetric(everyCPU/float64(round), "default-every-node-cpu-ms/pod")
	b.ReportMetric(oursCPU/float64(round), "ours-cpu-ms/pod")
	b.ReportMetric(oursCPU/everyCPU, "ours/default-every-node-cpu")
	// What the profiles cost the scheduler itself, apart from the API server: the mean time of
	// the PreScore and Score extension points (Score includes NormalizeScore) per cycle.
	def, every, ours := scoringMicros(b, corev1.DefaultSchedulerName), scoringMicros(b, everyNodeScheduler), scoringMicros(b, v1alpha1.SchedulerName)
	b.ReportMetric(def, "default-score-µs/pod")
	b.ReportMetric(every, "default-every-node-score-µs/pod")
	b.ReportMetric(ours, "ours-score-µs/pod")
	// Per-plugin Score times are not reported here: kube-scheduler records them through a buffer
	// of 1,000 observations drained once a second, drops what does not fit (a cycle at 5,000 nodes
	// makes thousands) and does not drain it when the scheduler stops, so a mean taken from
	// scheduler_plugin_execution_duration_seconds is of whatever got through, and 0 when nothing
	// did. plugins/nodeclassfit's BenchmarkScore measures this plugin's Score per node beside
	// NodeResourcesBalancedAllocation's. The extension-point durations above are recorded directly.
}

// scoringMicros is the mean time, in microseconds per scheduling cycle, the profile spent in the
// PreScore and Score extension points, from kube-scheduler's
// scheduler_framework_extension_point_duration_seconds (over every run in this process).
func scoringMicros(b *testing.B, profile string) float64 {
	b.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	var cycles uint64
	for _, f := range families {
		if f.GetName() != "scheduler_framework_extension_point_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			point := label(m, "extension_point")
			if label(m, "profile") != profile || (point != "PreScore" && point != "Score") {
				continue
			}
			sum += m.GetHistogram().GetSampleSum()
			if point == "Score" {
				cycles += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if cycles == 0 {
		return 0
	}
	return sum / float64(cycles) * 1e6
}

// throughput is one run's steady rate and what it cost this process's CPU.
type throughput struct {
	// podsPerSecond is the pods bound per second between the 10th and the 90th percentile of the
	// bind times.
	podsPerSecond float64
	// cpuPerPod is the CPU time (user and system) this process spent per pod bound over the same
	// span, in milliseconds. The scheduler runs in this process and kube-apiserver and etcd do
	// not, so it is the scheduler's CPU (and the test's watch, which is small).
	cpuPerPod float64
}

// processCPU is the CPU time this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runThroughput creates the pods, starts a scheduler, and measures the pods bound per second
// between the 10th and the 90th percentile of the bind times seen through a watch, and the CPU
// this process spent per pod over that span. With snaps, pods bound before the plugin had a
// snapshot are scheduled without it and not counted.
func runThroughput(b *testing.B, cs kubernetes.Interface, ns, schedulerName, configFile string, snaps *snapshotWaiter, opts ...nodeclassfit.Option) throughput {
	b.Helper()
	ctx := context.Background()
	ns = createNamespace(b, cs, ns)
	indexes := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range indexes {
				profile := "cpu-bound"
				if i%2 == 1 {
					profile = "memory-bound"
				}
				p := testPod(ns, fmt.Sprintf("pod-%04d", i), schedulerName, "100m", "128Mi", map[string]string{v1alpha1.ProfileKey: profile})
				owner := fmt.Sprintf("app-%d", i%10)
				p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, UID: types.UID(ns + owner), Controller: ptr.To(true)}}
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < throughputPods; i++ {
		select {
		case indexes <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(indexes)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// A RetryWatcher resumes where a closed watch left off.
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(ns).Watch(ctx, o)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	s := startScheduler(b, configFile, opts...)
	defer s.stop()
	bound := make([]time.Time, 0, throughputPods)
	// cpu[i] is this process's CPU time when bound[i] was seen.
	cpu := make([]time.Duration, 0, throughputPods)
	seen := map[string]bool{}
	timeout := time.After(10 * time.Minute)
	for len(bound) < throughputPods {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("the pod watch closed")
			}
			if ev.Type == watch.Error {
				b.Fatal(apierrors.FromObject(ev.Object))
			}
			p, ok := ev.Object.(*corev1.Pod)
			if ok && p.Spec.NodeName != "" && !seen[p.Name] {
				seen[p.Name] = true
				bound, cpu = append(bound, time.Now()), append(cpu, processCPU(b))
			}
		case <-timeout:
			b.Fatalf("%d of %d pods bound within 10m", len(bound), throughputPods)
		}
	}
	// Binds before the plugin's first snapshot were scored without it: leave them out.
	if snaps != nil {
		first := snaps.firstSnapshot()
		kept, keptCPU := bound[:0:0], cpu[:0:0]
		for i, t := range bound {
			if !t.Before(first) {
				kept, keptCPU = append(kept, t), append(keptCPU, cpu[i])
			}
		}
		if n := len(bound) - len(kept); n > 0 {
			b.Logf("%d pods were bound before the plugin's first snapshot and are not counted", n)
		}
		bound, cpu = kept, keptCPU
	}
	if len(bound) < 20 {
		b.Fatalf("only %d pods bound after the plugin's first snapshot", len(bound))
	}
	// The steady rate: binds between the 10th and the 90th percentile, leaving out the start-up
	// and the stragglers (scheduler_perf likewise reports percentiles, not the whole run).
	lo, hi := len(bound)/10, len(bound)*9/10
	out := throughput{
		podsPerSecond: float64(hi-lo) / bound[hi].Sub(bound[lo]).Seconds(),
		cpuPerPod:     float64(cpu[hi]-cpu[lo]) / float64(time.Millisecond) / float64(hi-lo),
	}

	// Leave the cluster as the next run expects it: no pods.
	s.stop()
	if err := deletePods(ctx, cs, ns); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		left, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(left.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d pods of %s left after 2m", len(left.Items), ns)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Let the API server and etcd finish with the deletions before the next run is timed.
	time.Sleep(5 * time.Second)
	return out
}
