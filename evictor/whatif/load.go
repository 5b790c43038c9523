// Package whatif answers "what would the rebalancer do to my cluster?" from a dump made with
// standard tools, and simulates it over many cycles with the real planner and the real placement
// score. The `rebalancer` command (cmd/rebalancer) is its front end; the decision-quality
// benchmark drives the same simulator.
package whatif

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	v1alpha1 "github.com/tinorodney/rebalancer/apis/rebalancer/v1alpha1"
	"github.com/tinorodney/rebalancer/evictor/planner"
	"github.com/tinorodney/rebalancer/pkg/placement"
)

// Dump is a cluster as read from files.
type Dump struct {
	Nodes           []*corev1.Node
	Pods            []*corev1.Pod
	PDBs            []*policyv1.PodDisruptionBudget
	Namespaces      []*corev1.Namespace
	PriorityClasses []*schedulingv1.PriorityClass
	Policies        []*v1alpha1.RebalancePolicy
	SLOs            []*v1alpha1.WorkloadSLO
	NodeClasses     []*v1alpha1.NodeClass
	Usage           planner.Usage
	// Controllers are the Services, ReplicaSets, StatefulSets and ReplicationControllers in the
	// dump: kube-scheduler's default topology spreading groups a pod with the pods they select.
	Controllers []runtime.Object
}

// The commands that make a dump; the README quotes them.
const DumpCommands = `kubectl get nodes,pods,pdb,priorityclasses,namespaces,services,replicasets,statefulsets -A -o yaml > cluster.yaml
kubectl get rebalancepolicies,workloadslos,nodeclasses -A -o yaml > rebalancer.yaml
kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes > node-metrics.json
kubectl get --raw /apis/metrics.k8s.io/v1beta1/pods > pod-metrics.json`

func scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, metricsv1beta1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// LoadDir reads every .yaml, .yml and .json file in dir. Errors name the file and the object; on
// any error nothing is returned.
func LoadDir(dir string) (*Dump, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading dump directory: %w", err)
	}
	files := Files{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[filepath.Join(dir, e.Name())] = data
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .yaml, .yml or .json file; make the dump with `rebalancer dump %s`, or with:\n%s", dir, dir, DumpCommands)
	}
	return LoadFiles(files)
}

// LoadFiles reads a dump from its files (by name; errors name the file and the object). On any
// error nothing is returned.
func LoadFiles(files Files) (*Dump, error) {
	s, err := scheme()
	if err != nil {
		return nil, err
	}
	decoder := serializer.NewCodecFactory(s).UniversalDeserializer()
	d := &Dump{Usage: planner.Usage{Nodes: map[string]planner.Sample{}, Pods: map[types.NamespacedName]planner.Sample{}}}
	for _, name := range files.names() {
		if err := d.loadData(name, files[name], decoder); err != nil {
			return nil, err
		}
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dump) loadData(path string, data []byte, decoder runtime.Decoder) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
		if err := d.add(path, obj, decoder); err != nil {
			return err
		}
	}
}

func (d *Dump) add(path string, obj runtime.Object, decoder runtime.Decoder) error {
	switch o := obj.(type) {
	case *corev1.List:
		return d.addItems(path, o.Items, decoder)
	case *metav1.List:
		return d.addItems(path, o.Items, decoder)
	case *corev1.NodeList:
		for i := range o.Items {
			d.Nodes = append(d.Nodes, &o.Items[i])
		}
	case *corev1.PodList:
		for i := range o.Items {
			d.Pods = append(d.Pods, &o.Items[i])
		}
	case *corev1.Node:
		d.Nodes = append(d.Nodes, o)
	case *corev1.Pod:
		d.Pods = append(d.Pods, o)
	case *corev1.Namespace:
		d.Namespaces = append(d.Namespaces, o)
	case *policyv1.PodDisruptionBudget:
		d.PDBs = append(d.PDBs, o)
	case *schedulingv1.PriorityClass:
		d.PriorityClasses = append(d.PriorityClasses, o)
	case *v1alpha1.RebalancePolicy:
		d.Policies = append(d.Policies, o)
	case *v1alpha1.WorkloadSLO:
		d.SLOs = append(d.SLOs, o)
	case *v1alpha1.NodeClass:
		d.NodeClasses = append(d.NodeClasses, o)
	case *v1alpha1.RebalancePolicyList:
		for i := range o.Items {
			d.Policies = append(d.Policies, &o.Items[i])
		}
	case *v1alpha1.WorkloadSLOList:
		for i := range o.Items {
			d.SLOs = append(d.SLOs, &o.Items[i])
		}
	case *v1alpha1.NodeClassList:
		for i := range o.Items {
			d.NodeClasses = append(d.NodeClasses, &o.Items[i])
		}
	case *metricsv1beta1.NodeMetricsList:
		for i := range o.Items {
			nm := &o.Items[i]
			d.Usage.Nodes[nm.Name] = planner.Sample{MilliCPU: float64(nm.Usage.Cpu().MilliValue()), Memory: float64(nm.Usage.Memory().Value()),
				Time: nm.Timestamp.Add(nm.Window.Duration)}
		}
	case *metricsv1beta1.PodMetricsList:
		for i := range o.Items {
			pm := &o.Items[i]
			var s planner.Sample
			for _, c := range pm.Containers {
				s.MilliCPU += float64(c.Usage.Cpu().MilliValue())
				s.Memory += float64(c.Usage.Memory().Value())
			}
			s.Time = pm.Timestamp.Add(pm.Window.Duration)
			d.Usage.Pods[types.NamespacedName{Namespace: pm.Namespace, Name: pm.Name}] = s
		}
	case *corev1.Service, *appsv1.ReplicaSet, *appsv1.StatefulSet, *corev1.ReplicationController:
		d.Controllers = append(d.Controllers, o)
	case *corev1.ServiceList:
		d.Controllers = append(d.Controllers, objects(o.Items)...)
	case *appsv1.ReplicaSetList:
		d.Controllers = append(d.Controllers, objects(o.Items)...)
	case *appsv1.StatefulSetList:
		d.Controllers = append(d.Controllers, objects(o.Items)...)
	default:
		// Other kinds (Deployments, ConfigMaps...) may come along in a broad dump; they do not matter.
	}
	return nil
}

// objects are pointers to the items of a typed list.
func objects[T any, P interface {
	*T
	runtime.Object
}](items []T) []runtime.Object {
	out := make([]runtime.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// addItems decodes and adds the items of a List (kubectl's `-o yaml` of several kinds).
func (d *Dump) addItems(path string, items []runtime.RawExtension, decoder runtime.Decoder) error {
	for i, item := range items {
		inner, _, err := decoder.Decode(item.Raw, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: item %d of the List: %w", path, i, err)
		}
		if err := d.add(path, inner, decoder); err != nil {
			return err
		}
	}
	return nil
}

// check refuses a dump the planner cannot use.
func (d *Dump) check() error {
	switch {
	case len(d.Nodes) == 0:
		return fmt.Errorf("the dump has no Node: include `kubectl get nodes,pods,pdb,priorityclasses -A -o yaml`")
	case len(d.Usage.Nodes) == 0:
		return fmt.Errorf("the dump has no NodeMetricsList: include `kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes`")
	}
	nodes := map[string]bool{}
	for _, n := range d.Nodes {
		nodes[n.Name] = true
	}
	for _, p := range d.Pods {
		if p.Spec.NodeName != "" && !nodes[p.Spec.NodeName] {
			return fmt.Errorf("pod %s/%s is on node %s, which the dump does not have", p.Namespace, p.Name, p.Spec.NodeName)
		}
	}
	for name := range d.Usage.Nodes {
		if !nodes[name] {
			return fmt.Errorf("NodeMetrics for node %s, which the dump does not have", name)
		}
	}
	return nil
}

// Policy returns the named policy, the only one when name is empty, or the API's defaults in
// dry-run when the dump has none.
func (d *Dump) Policy(name string) (*v1alpha1.RebalancePolicy, error) {
	if name == "" {
		switch len(d.Policies) {
		case 0:
			return &v1alpha1.RebalancePolicy{ObjectMeta: metav1.ObjectMeta{Name: "default (API defaults)"}}, nil
		case 1:
			return d.Policies[0], nil
		default:
			var names []string
			for _, p := range d.Policies {
				names = append(names, p.Name)
			}
			return nil, fmt.Errorf("the dump has %d RebalancePolicies (%s): choose one with --policy", len(names), strings.Join(names, ", "))
		}
	}
	for _, p := range d.Policies {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no RebalancePolicy %q in the dump", name)
}

// Snapshot is the dump as the planner takes it.
// Taken is when the dump was made: its newest node usage reading (zero without readings). The
// what-if plans as of then, so a dump read hours later is not all stale readings and pods that
// were young then are still young.
func (d *Dump) Taken() time.Time {
	var t time.Time
	for _, s := range d.Usage.Nodes {
		if s.Time.After(t) {
			t = s.Time
		}
	}
	return t
}

func (d *Dump) Snapshot() planner.Snapshot {
	return planner.Snapshot{Nodes: d.Nodes, Pods: planner.NewPods(d.Pods), PDBs: d.PDBs, Namespaces: d.Namespaces,
		PriorityClasses: d.PriorityClasses, NodeClasses: d.NodeClasses, Usage: d.Usage}
}

// Engine builds the placement engine for the dump: kube-scheduler's default configuration for
// pods on the default scheduler, and ours (schedulerConfig, or placement.RebalancerConfig with
// the default args when nil), their plugins reading the dump's namespaces and controllers.
func (d *Dump) Engine(ctx context.Context, schedulerConfig *schedconfig.KubeSchedulerConfiguration) (*placement.Engine, error) {
	configs, err := placement.Configs(schedulerConfig)
	if err != nil {
		return nil, err
	}
	objs := append([]runtime.Object(nil), d.Controllers...)
	for _, ns := range d.Namespaces {
		objs = append(objs, ns)
	}
	return placement.NewStatic(ctx, configs, objs...)
}
