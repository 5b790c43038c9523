package usage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestMetricsServer(t *testing.T) {
	ts := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	window := metav1.Duration{Duration: 15 * time.Second}
	nodes := &metricsv1beta1.NodeMetricsList{Items: []metricsv1beta1.NodeMetrics{
		{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Timestamp: metav1.NewTime(ts), Window: window,
			Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("2Gi")}},
	}}
	pods := &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{
		{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "prod"}, Timestamp: metav1.NewTime(ts), Window: window,
			Containers: []metricsv1beta1.ContainerMetrics{
				{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("100Mi")}},
				{Name: "sidecar", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("28Mi")}},
			}},
	}}
	// The metrics fake's object tracker files these kinds under resources it does not list
	// ("nodemetricses"), so answer the lists directly.
	client := metricsfake.NewSimpleClientset()
	client.PrependReactor("list", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nodes, nil })
	client.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) { return true, pods, nil })
	got, err := (&MetricsServer{Client: client}).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	end := ts.Add(15 * time.Second)
	want := Readings{
		Nodes: map[string]Sample{"n1": {MilliCPU: 1500, Memory: 2 << 30, Time: end}},
		// containers add up: 200m + 50m, 100Mi + 28Mi
		Pods: map[types.NamespacedName]Sample{{Namespace: "prod", Name: "web-0"}: {MilliCPU: 250, Memory: 128 << 20, Time: end}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readings (-want,+got):\n%s", diff)
	}
}

// TestMetricsServerForPods: a source scoped to a policy's pods asks metrics-server for the pods
// its selector matches and for every node.
func TestMetricsServerForPods(t *testing.T) {
	client := metricsfake.NewSimpleClientset()
	selectors := map[string]string{}
	for _, resource := range []string{"nodes", "pods"} {
		client.PrependReactor("list", resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
			selectors[resource] = a.(clienttesting.ListAction).GetListRestrictions().Labels.String()
			if resource == "nodes" {
				return true, &metricsv1beta1.NodeMetricsList{}, nil
			}
			return true, &metricsv1beta1.PodMetricsList{}, nil
		})
	}
	sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: map[string]string{"rebalancer": "ok"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		src       Source
		wantPods  string
		wantNodes string
	}{
		{"unscoped", &MetricsServer{Client: client}, "", ""},
		{"scoped", (&MetricsServer{Client: client}).ForPods(sel), "rebalancer=ok,tier notin (db)", ""},
		{"empty selector", (&MetricsServer{Client: client}).ForPods(labels.Everything()), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear(selectors)
			if _, err := tc.src.Read(context.Background()); err != nil {
				t.Fatal(err)
			}
			if selectors["pods"] != tc.wantPods || selectors["nodes"] != tc.wantNodes {
				t.Errorf("label selectors: pods %q, nodes %q; want %q, %q", selectors["pods"], selectors["nodes"], tc.wantPods, tc.wantNodes)
			}
		})
	}
}

// TestPrometheus runs the source against a server speaking the Prometheus HTTP API on loopback.
func TestPrometheus(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		q := r.Form.Get("query")
		queries = append(queries, q)
		var result string
		switch {
		case strings.Contains(q, "node_cpu_seconds_total"):
			result = `{"metric":{"node":"n1"},"value":[1777629600,"1.5"]}`
		case strings.Contains(q, "node_memory"):
			result = `{"metric":{"node":"n1"},"value":[1777629600,"2147483648"]}`
		case strings.Contains(q, "container_cpu"):
			result = `{"metric":{"namespace":"prod","pod":"web-0"},"value":[1777629600,"0.25"]}`
		case strings.Contains(q, "broken"):
			result = `{"metric":{"instance":"10.0.0.1:9100"},"value":[1777629600,"1"]}`
		default:
			result = `{"metric":{"namespace":"prod","pod":"web-0"},"value":[1777629600,"134217728"]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, result)
	}))
	defer srv.Close()

	src, err := NewPrometheus(srv.URL, Queries{}, nil, clocktesting.NewFakePassiveClock(at))
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sampleTime := time.Unix(1777629600, 0)
	want := Readings{
		Nodes: map[string]Sample{"n1": {MilliCPU: 1500, Memory: 2 << 30, Time: sampleTime}},
		Pods:  map[types.NamespacedName]Sample{{Namespace: "prod", Name: "web-0"}: {MilliCPU: 250, Memory: 128 << 20, Time: sampleTime}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("readings (-want,+got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{DefaultNodeCPUQuery, DefaultNodeMemoryQuery, DefaultPodCPUQuery, DefaultPodMemoryQuery}, queries); diff != "" {
		t.Errorf("queries (-want,+got):\n%s", diff)
	}

	t.Run("a query without the node label is an error", func(t *testing.T) {
		src, _ := NewPrometheus(srv.URL, Queries{NodeCPU: "broken"}, nil, clocktesting.NewFakePassiveClock(at))
		if _, err := src.Read(context.Background()); err == nil || !strings.Contains(err.Error(), `"node" label`) {
			t.Errorf("err = %v, want one naming the missing node label", err)
		}
	})
	t.Run("an unreachable server is an error", func(t *testing.T) {
		src, _ := NewPrometheus("http://127.0.0.1:1", Queries{}, nil, clocktesting.NewFakePassiveClock(at))
		if _, err := src.Read(context.Background()); err == nil {
			t.Error("want an error from a closed port")
		}
	})
}
