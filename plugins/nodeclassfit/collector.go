package nodeclassfit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/clock"

	"github.com/tinorodney/rebalancer/apis/config"
	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/pkg/placement"
	"github.com/tinorodney/rebalancer/pkg/usage"
)

var (
	nodeClassesGVR = v1alpha1.SchemeGroupVersion.WithResource("nodeclasses")
	policiesGVR    = v1alpha1.SchemeGroupVersion.WithResource("rebalancepolicies")
)

// minRebuildGap spaces rebuilds triggered by object changes, so a storm of node or NodeClass
// events costs at most one rebuild a second.
const minRebuildGap = time.Second

// maxReadTimeout bounds one read of the usage source.
const maxReadTimeout = 30 * time.Second

// collector refreshes the plugin's snapshot in the background: usage through pkg/usage every
// usageRefreshInterval, and nodes, NodeClasses and the RebalancePolicy through informers, with a
// rebuild whenever one of those changes. It is the only goroutine that reads or writes readings,
// source and classifier; it hands finished snapshots to publish.
type collector struct {
	args  config.RebalancerNodeClassFitArgs
	clock clock.WithTicker

	nodes    corelisters.NodeLister
	pods     corelisters.PodLister
	classes  cache.GenericLister
	policies cache.GenericLister
	dyn      dynamicinformer.DynamicSharedInformerFactory
	synced   []cache.InformerSynced
	// dynStart and dynShutdown start and stop the collector's own informers.
	dynStart    func(stop <-chan struct{})
	dynShutdown func()
	kick        chan struct{}

	kubeConfig *rest.Config
	injected   usage.Source // set by WithSource; replaces the policy's source
	source     usage.Source
	sourceKey  string
	readings   usage.Readings
	readErr    error

	classifier *classifier
	// fromStatus remembers where the last classification came from, to log when that changes.
	fromStatus *bool
	lag        *lagTracker
	steering   *steering
	publish    func(*snapshot, Summary)
}

func newCollector(args config.RebalancerNodeClassFitArgs, h fwk.Handle, o *options, lag *lagTracker, steer *steering, publish func(*snapshot, Summary)) (*collector, error) {
	dc := o.dynamic
	if dc == nil {
		cfg := h.KubeConfig()
		if cfg == nil {
			return nil, errors.New("the framework handle has no kubeconfig to read NodeClasses and RebalancePolicies with")
		}
		var err error
		if dc, err = dynamic.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("building a dynamic client: %w", err)
		}
	}
	c := &collector{
		args: args, clock: o.clock, kubeConfig: h.KubeConfig(), injected: o.source,
		kick:       make(chan struct{}, 1),
		readings:   usage.Readings{},
		classifier: newClassifier(),
		lag:        lag,
		steering:   steer,
		publish:    publish,
	}

	// Nodes and pods come from the scheduler's own informers: no extra watch.
	factory := h.SharedInformerFactory()
	nodeInformer := factory.Core().V1().Nodes()
	podInformer := factory.Core().V1().Pods()
	c.nodes, c.pods = nodeInformer.Lister(), podInformer.Lister()
	nodeReg, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.poke() },
		DeleteFunc: func(any) { c.poke() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Node)
			n, ok2 := newObj.(*corev1.Node)
			if !ok1 || !ok2 || !labels.Equals(o.Labels, n.Labels) || !equalAllocatable(o, n) {
				c.poke()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observePod(obj) },
		UpdateFunc: func(_, obj any) { c.observePod(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				lag.remove(p.UID)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watching pods: %w", err)
	}

	// NodeClasses and the one RebalancePolicy through a dynamic informer factory of our own: the
	// framework handle offers none for custom resources.
	c.dyn = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dc, 0, metav1.NamespaceAll, nil)
	policyFactory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dc, 0, metav1.NamespaceAll, func(lo *metav1.ListOptions) {
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", args.PolicyName).String()
	})
	classInformer := c.dyn.ForResource(nodeClassesGVR)
	policyInformer := policyFactory.ForResource(policiesGVR)
	c.classes, c.policies = classInformer.Lister(), policyInformer.Lister()
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.poke() },
		UpdateFunc: func(any, any) { c.poke() },
		DeleteFunc: func(any) { c.poke() },
	}
	classReg, err := classInformer.Informer().AddEventHandler(poke)
	if err != nil {
		return nil, fmt.Errorf("watching NodeClasses: %w", err)
	}
	// The steers follow the policy at once; the snapshot is rebuilt at most once a second.
	policyReg, err := policyInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.steer(obj); c.poke() },
		UpdateFunc: func(_, obj any) { c.steer(obj); c.poke() },
		DeleteFunc: func(any) { c.steering.update(nil, c.clock.Now()); c.poke() },
	})
	if err != nil {
		return nil, fmt.Errorf("watching RebalancePolicy %q: %w", args.PolicyName, err)
	}
	c.synced = []cache.InformerSynced{nodeReg.HasSynced, podReg.HasSynced, classReg.HasSynced, policyReg.HasSynced}
	c.dynStart = func(stop <-chan struct{}) {
		c.dyn.Start(stop)
		policyFactory.Start(stop)
	}
	c.dynShutdown = func() {
		c.dyn.Shutdown()
		policyFactory.Shutdown()
	}
	return c, nil
}

func equalAllocatable(a, b *corev1.Node) bool {
	return a.Status.Allocatable.Cpu().Equal(*b.Status.Allocatable.Cpu()) && a.Status.Allocatable.Memory().Equal(*b.Status.Allocatable.Memory())
}

// steer reads the steers of the policy's ledger.
func (c *collector) steer(obj any) {
	u, ok := obj.(runtime.Object)
	if !ok {
		return
	}
	p := &v1alpha1.RebalancePolicy{}
	if err := fromUnstructured(u, p); err != nil {
		// refresh reports the same decoding error.
		return
	}
	c.steering.update(p, c.clock.Now())
}

func (c *collector) observePod(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		c.lag.observe(p)
	}
}

// poke asks for a rebuild without blocking the informer that calls it.
func (c *collector) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run waits for the informers, then reads and publishes until ctx is done.
func (c *collector) run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	ctx = klog.NewContext(ctx, logger)
	c.dynStart(ctx.Done())
	defer c.dynShutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	logger.V(2).Info("Informers synced, reading usage", "policy", c.args.PolicyName, "interval", c.args.UsageRefreshInterval.Duration)
	c.refresh(ctx, true)
	ticker := c.clock.NewTicker(c.args.UsageRefreshInterval.Duration)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			c.refresh(ctx, true)
		case <-c.kick:
			c.refresh(ctx, false)
			select {
			case <-ctx.Done():
				return
			case <-c.clock.After(minRebuildGap):
			}
		}
	}
}

// refresh rebuilds the snapshot, reading usage first when read is true.
func (c *collector) refresh(ctx context.Context, read bool) {
	logger := klog.FromContext(ctx)
	pol, err := c.policy()
	if err != nil {
		logger.Error(err, "Reading the RebalancePolicy; following the API defaults", "policy", c.args.PolicyName)
	}
	parsed := parsePolicy(pol)
	if pol == nil && err == nil && logger.V(4).Enabled() {
		logger.V(4).Info("RebalancePolicy not found; following the API defaults", "policy", c.args.PolicyName)
	}
	if read {
		c.read(ctx, &parsed)
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing nodes")
		return
	}
	classes, err := c.nodeClasses()
	if err != nil {
		logger.Error(err, "Reading NodeClasses; leaving out those that cannot be read")
	}
	in := &buildInput{
		now: c.clock.Now(), nodes: nodes, classes: classes, policy: pol, readings: c.readings,
		pod:              c.pod,
		placementWeights: placement.Weights(c.args.PlacementWeights),
	}
	s := assemble(in, c.classifier, c.lag)
	sum := s.summary()
	sum.ReadError = c.readErr
	if c.fromStatus == nil || *c.fromStatus != sum.HotFromStatus {
		if sum.HotFromStatus {
			logger.Info("Following the evictor's classification from the RebalancePolicy's status", "policy", c.args.PolicyName, "hot", len(sum.Hot))
		} else {
			logger.Info("The RebalancePolicy's status is missing or stale; classifying nodes from usage readings",
				"policy", c.args.PolicyName, "policyFound", sum.PolicyFound, "measuredNodes", sum.Measured)
		}
		c.fromStatus = &sum.HotFromStatus
	}
	c.publish(s, sum)
}

func (c *collector) read(ctx context.Context, p *policy) {
	logger := klog.FromContext(ctx)
	src, err := c.sourceFor(p)
	if err != nil {
		c.readErr = err
		logger.Error(err, "Building the usage source; scoring by requests until it works", "policy", c.args.PolicyName)
		return
	}
	timeout := min(c.args.UsageRefreshInterval.Duration, maxReadTimeout)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := src.Read(rctx)
	if err != nil {
		// Keep the last readings: they go stale after the policy's staleAfter, and the nodes then
		// count by requests.
		c.readErr = err
		logger.Error(err, "Reading usage; keeping the last readings")
		return
	}
	c.readings, c.readErr = r, nil
}

// sourceFor returns the usage source the policy names (the evictor's), rebuilt when the policy
// changes it, or the source injected with WithSource.
func (c *collector) sourceFor(p *policy) (usage.Source, error) {
	if c.injected != nil {
		return c.injected, nil
	}
	m := p.Metrics
	var address string
	var q usage.Queries
	if m.Prometheus != nil {
		address = m.Prometheus.Address
		if pq := m.Prometheus.Queries; pq != nil {
			q = usage.Queries{NodeCPU: pq.NodeCPU, NodeMemory: pq.NodeMemory, PodCPU: pq.PodCPU, PodMemory: pq.PodMemory}
		}
	}
	if address == "" {
		address = c.args.PrometheusAddress
	}
	key := strings.Join([]string{string(m.Source), address, q.NodeCPU, q.NodeMemory, q.PodCPU, q.PodMemory}, "\x00")
	if c.source != nil && key == c.sourceKey {
		return c.source, nil
	}
	var src usage.Source
	switch m.Source {
	case v1alpha1.UsageSourcePrometheus:
		if address == "" {
			return nil, fmt.Errorf("RebalancePolicy %q reads usage from prometheus but neither spec.metrics.prometheus.address nor the plugin's prometheusAddress names a server", c.args.PolicyName)
		}
		prom, err := usage.NewPrometheus(address, q, nil, c.clock)
		if err != nil {
			return nil, err
		}
		src = prom
	default:
		if c.kubeConfig == nil {
			return nil, errors.New("no kubeconfig to reach metrics.k8s.io with")
		}
		mc, err := metricsclient.NewForConfig(c.kubeConfig)
		if err != nil {
			return nil, fmt.Errorf("building the metrics.k8s.io client: %w", err)
		}
		src = &usage.MetricsServer{Client: mc}
	}
	c.source, c.sourceKey = src, key
	return src, nil
}

func (c *collector) policy() (*v1alpha1.RebalancePolicy, error) {
	obj, err := c.policies.Get(c.args.PolicyName)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &v1alpha1.RebalancePolicy{}
	if err := fromUnstructured(obj, p); err != nil {
		return nil, fmt.Errorf("decoding RebalancePolicy %q: %w", c.args.PolicyName, err)
	}
	return p, nil
}

func (c *collector) nodeClasses() ([]*v1alpha1.NodeClass, error) {
	objs, err := c.classes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.NodeClass, 0, len(objs))
	var errs []error
	for _, obj := range objs {
		nc := &v1alpha1.NodeClass{}
		if err := fromUnstructured(obj, nc); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, nc)
	}
	return out, errors.Join(errs...)
}

func (c *collector) pod(key types.NamespacedName) *corev1.Pod {
	p, err := c.pods.Pods(key.Namespace).Get(key.Name)
	if err != nil {
		return nil
	}
	return p
}

func fromUnstructured(obj runtime.Object, into any) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected object %T from the dynamic informer", obj)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), into)
}
