package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/descheduler/pkg/api"
	"sigs.k8s.io/descheduler/pkg/descheduler/evictions"
	"sigs.k8s.io/descheduler/pkg/descheduler/metricscollector"
	podutil "sigs.k8s.io/descheduler/pkg/descheduler/pod"
	frameworkfake "sigs.k8s.io/descheduler/pkg/framework/fake"
	"sigs.k8s.io/descheduler/pkg/framework/plugins/nodeutilization"
	frameworktypes "sigs.k8s.io/descheduler/pkg/framework/types"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
)

// deschedulerDecider runs descheduler's LowNodeUtilization plugin (v0.36.0) on the simulated
// cluster, with its usage from the same readings through a metrics.k8s.io client, thresholds and
// per-node eviction limit from the same policy. Its evictor records the pods it evicts; it
// filters pods by the same opt-in label and the protections every evictor applies (DaemonSet,
// system-critical, bare pods).
type deschedulerDecider struct {
	low, high float64 // percent
	perNode   uint
	perCycle  int

	// The cluster as descheduler's informers see it, kept across cycles: built on the first
	// cycle, then only the pods that went and came are applied (rebuilding 40,000 pods in a
	// fake clientset every cycle was most of the benchmark's time).
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	podStore cache.Store
	getPods  podutil.GetPodsAssignedToNodeFunc
	pods     map[types.NamespacedName]*corev1.Pod
	stop     chan struct{}
}

// Close stops the informers.
func (d *deschedulerDecider) Close() {
	if d.stop != nil {
		close(d.stop)
		d.stop = nil
	}
}

// sync brings descheduler's view of the cluster to pods: the first call builds it, later calls
// delete the pods that left and add those that came, and wait until the informer has them all.
func (d *deschedulerDecider) sync(ctx context.Context, s planner.Snapshot, pods []*corev1.Pod) error {
	want := make(map[types.NamespacedName]*corev1.Pod, len(pods))
	for _, p := range pods {
		want[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = p
	}
	if d.client == nil {
		objs := make([]runtime.Object, 0, len(s.Nodes)+len(pods))
		for _, n := range s.Nodes {
			objs = append(objs, n)
		}
		for _, p := range pods {
			objs = append(objs, p)
		}
		d.client = fake.NewClientset(objs...)
		d.factory = informers.NewSharedInformerFactory(d.client, 0)
		podInformer := d.factory.Core().V1().Pods().Informer()
		d.factory.Core().V1().Nodes().Informer()
		getPods, err := podutil.BuildGetPodsAssignedToNodeFunc(podInformer)
		if err != nil {
			return err
		}
		d.getPods, d.podStore, d.pods, d.stop = getPods, podInformer.GetStore(), want, make(chan struct{})
		d.factory.Start(d.stop)
		d.factory.WaitForCacheSync(d.stop)
		return nil
	}
	// The fake clientset's watch holds 100 events: apply the changes in batches and let the
	// informer catch up after each.
	type change struct {
		key  types.NamespacedName
		came *corev1.Pod // nil: the pod went
	}
	var changes []change
	for k := range d.pods {
		if want[k] == nil {
			changes = append(changes, change{key: k})
		}
	}
	for k, p := range want {
		if d.pods[k] == nil {
			changes = append(changes, change{key: k, came: p})
		}
	}
	d.pods = want
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	for len(changes) > 0 {
		batch := changes[:min(50, len(changes))]
		changes = changes[len(batch):]
		for _, c := range batch {
			var err error
			if c.came == nil {
				err = d.client.Tracker().Delete(gvr, c.key.Namespace, c.key.Name)
			} else {
				err = d.client.Tracker().Add(c.came)
			}
			if err != nil {
				return err
			}
		}
		err := wait.PollUntilContextTimeout(ctx, time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			for _, c := range batch {
				if _, ok, _ := d.podStore.GetByKey(c.key.String()); ok != (c.came != nil) {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for descheduler's informer: %w", err)
		}
	}
	if n := len(d.podStore.ListKeys()); n != len(want) {
		return fmt.Errorf("descheduler's informer holds %d pods, want %d", n, len(want))
	}
	return nil
}

func (d *deschedulerDecider) Name() string { return "descheduler" }

func (d *deschedulerDecider) Evicted(*corev1.Pod, string, time.Time) {}

// recorder is descheduler's Evictor: it filters and records, evicting nothing for real.
type recorder struct {
	evicted  []planner.PodRef
	perCycle int
}

func (r *recorder) Filter(p *corev1.Pod) bool {
	ref := metav1.GetControllerOfNoCopy(p)
	return p.Labels[v1alpha1.OptInLabelKey] == v1alpha1.OptInLabelValue && ref != nil && ref.Kind != "DaemonSet" &&
		p.Spec.PriorityClassName != "system-cluster-critical" && p.Spec.PriorityClassName != "system-node-critical" && p.DeletionTimestamp == nil
}

func (r *recorder) PreEvictionFilter(*corev1.Pod) bool { return len(r.evicted) < r.perCycle }

func (r *recorder) Evict(_ context.Context, p *corev1.Pod, _ evictions.EvictOptions) error {
	if len(r.evicted) >= r.perCycle {
		return fmt.Errorf("eviction limit per cycle reached")
	}
	r.evicted = append(r.evicted, planner.PodRef{Namespace: p.Namespace, Name: p.Name, UID: p.UID})
	return nil
}

func (r *recorder) Name() string { return "recorder" }

func (d *deschedulerDecider) Decide(s planner.Snapshot, pods []*corev1.Pod, _ time.Time) ([]planner.PodRef, error) {
	ctx := context.Background()
	if err := d.sync(ctx, s, pods); err != nil {
		return nil, fmt.Errorf("updating descheduler's view of the cluster: %w", err)
	}
	nodeLister := d.factory.Core().V1().Nodes().Lister()

	nodeMetrics := map[string]*metricsv1beta1.NodeMetrics{}
	for name, smp := range s.Usage.Nodes {
		nodeMetrics[name] = &metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: name}, Timestamp: metav1.NewTime(smp.Time),
			Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(int64(smp.MilliCPU), resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(int64(smp.Memory), resource.BinarySI)}}
	}
	podMetrics := map[types.NamespacedName]*metricsv1beta1.PodMetrics{}
	for key, smp := range s.Usage.Pods {
		podMetrics[key] = &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Timestamp: metav1.NewTime(smp.Time),
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU: *resource.NewMilliQuantity(int64(smp.MilliCPU), resource.DecimalSI), corev1.ResourceMemory: *resource.NewQuantity(int64(smp.Memory), resource.BinarySI)}}}}
	}
	mc := metricsfake.NewSimpleClientset()
	mc.PrependReactor("get", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		name := a.(clienttesting.GetAction).GetName()
		if m, ok := nodeMetrics[name]; ok {
			return true, m, nil
		}
		return true, nil, fmt.Errorf("no metrics for node %s", name)
	})
	mc.PrependReactor("get", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		g := a.(clienttesting.GetAction)
		if m, ok := podMetrics[types.NamespacedName{Namespace: g.GetNamespace(), Name: g.GetName()}]; ok {
			return true, m, nil
		}
		return true, nil, fmt.Errorf("no metrics for pod %s/%s", g.GetNamespace(), g.GetName())
	})
	collector := metricscollector.NewMetricsCollector(nodeLister, mc, labels.Everything())
	if err := collector.Collect(ctx); err != nil {
		return nil, err
	}
	rec := &recorder{perCycle: d.perCycle}
	handle := &frameworkfake.HandleImpl{
		ClientsetImpl: d.client, GetPodsAssignedToNodeFuncImpl: d.getPods, SharedInformerFactoryImpl: d.factory,
		MetricsCollectorImpl: collector, PluginInstanceIDImpl: "lownodeutilization",
	}
	plugin, err := nodeutilization.NewLowNodeUtilization(ctx, &nodeutilization.LowNodeUtilizationArgs{
		Thresholds:         api.ResourceThresholds{corev1.ResourceCPU: api.Percentage(d.low), corev1.ResourceMemory: api.Percentage(d.low), corev1.ResourcePods: 100},
		TargetThresholds:   api.ResourceThresholds{corev1.ResourceCPU: api.Percentage(d.high), corev1.ResourceMemory: api.Percentage(d.high), corev1.ResourcePods: 100},
		MetricsUtilization: &nodeutilization.MetricsUtilization{Source: api.KubernetesMetrics},
		EvictionLimits:     &api.EvictionLimits{Node: ptr.To(d.perNode)},
	}, &evictorHandle{HandleImpl: handle, rec: rec})
	if err != nil {
		return nil, fmt.Errorf("creating LowNodeUtilization: %w", err)
	}
	if st := plugin.(frameworktypes.BalancePlugin).Balance(ctx, s.Nodes); st != nil && st.Err != nil {
		return nil, fmt.Errorf("LowNodeUtilization: %w", st.Err)
	}
	return rec.evicted, nil
}

// evictorHandle is descheduler's fake handle with our recording evictor.
type evictorHandle struct {
	*frameworkfake.HandleImpl
	rec *recorder
}

func (h *evictorHandle) Evictor() frameworktypes.Evictor { return h.rec }
