package usage

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// MetricsServer reads the metrics.k8s.io API (metrics-server, or any adapter that serves it).
type MetricsServer struct {
	Client metricsclient.Interface
	// PodSelector, when set, limits the pod readings to the pods it matches (metrics-server
	// filters by the pods' labels); node readings are always complete.
	PodSelector labels.Selector
}

// ForPods returns a reader of the same API whose pod readings are only those of the pods the
// selector matches: a policy needs the readings of the pods it may move, and at 30,000 pods the
// full list is most of a cycle's read.
func (m *MetricsServer) ForPods(selector labels.Selector) Source {
	return &MetricsServer{Client: m.Client, PodSelector: selector}
}

// Read lists node and pod metrics. A sample's time is the end of its measurement window.
func (m *MetricsServer) Read(ctx context.Context) (Readings, error) {
	out := newReadings()
	nodes, err := m.Client.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("listing node metrics from metrics.k8s.io: %w", err)
	}
	for i := range nodes.Items {
		nm := &nodes.Items[i]
		out.Nodes[nm.Name] = Sample{
			MilliCPU: float64(nm.Usage.Cpu().MilliValue()),
			Memory:   float64(nm.Usage.Memory().Value()),
			Time:     nm.Timestamp.Add(nm.Window.Duration),
		}
	}
	var opts metav1.ListOptions
	if m.PodSelector != nil && !m.PodSelector.Empty() {
		opts.LabelSelector = m.PodSelector.String()
	}
	pods, err := m.Client.MetricsV1beta1().PodMetricses(corev1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return out, fmt.Errorf("listing pod metrics from metrics.k8s.io: %w", err)
	}
	for i := range pods.Items {
		pm := &pods.Items[i]
		var s Sample
		for j := range pm.Containers {
			s.MilliCPU += float64(pm.Containers[j].Usage.Cpu().MilliValue())
			s.Memory += float64(pm.Containers[j].Usage.Memory().Value())
		}
		s.Time = pm.Timestamp.Add(pm.Window.Duration)
		out.Pods[types.NamespacedName{Namespace: pm.Namespace, Name: pm.Name}] = s
	}
	return out, nil
}
