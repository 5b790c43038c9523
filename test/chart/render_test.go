package chart

import (
	"strings"
	"testing"
)

// TestRender renders the chart for the default values and every toggle and checks what each
// toggle changes.
func TestRender(t *testing.T) {
	for _, tc := range toggles {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, render(t, releaseNamespace, tc.values))
		})
	}
}

// TestLint runs `helm lint --strict` for the default values and every toggle: no warning, no error.
func TestLint(t *testing.T) {
	for _, tc := range toggles {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir(), "--namespace", releaseNamespace}
			if tc.values != "" {
				args = append(args, "--values", valuesFile(t, tc.values))
			}
			out, stderr, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, stderr)
			}
			for _, bad := range []string{"[WARNING]", "[ERROR]"} {
				if strings.Contains(out, bad) {
					t.Errorf("helm lint reports %s:\n%s", bad, out)
				}
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint output:\n%s", out)
			}
		})
	}
}

// TestValuesRejected: values.schema.json (and the template's own checks) refuse bad values with
// a message that says which value is wrong.
func TestValuesRejected(t *testing.T) {
	tests := []struct {
		name    string
		values  string
		wantErr string
	}{
		{"unknown top-level key", "replicas: 2", "additional properties 'replicas' not allowed"},
		{"misspelt nested key", "ingress: {host: x.example.org}", "at '/ingress': additional properties 'host' not allowed"},
		{"two evictors without leader election", "evictor: {replicas: 2, leaderElection: {enabled: false}}", "at '/evictor/leaderElection/enabled': value must be true"},
		{"two schedulers without leader election", "scheduler: {replicas: 2, leaderElection: {enabled: false}}", "at '/scheduler/leaderElection/enabled': value must be true"},
		{"zero replicas", "evictor: {replicas: 0}", "at '/evictor/replicas': minimum: got 0, want 1"},
		{"replicas as a string", `evictor: {replicas: "2"}`, "at '/evictor/replicas': got string, want integer"},
		{"unknown pull policy", "evictor: {image: {pullPolicy: Sometimes}}", "at '/evictor/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"},
		{"malformed digest", "scheduler: {image: {digest: sha256:abc}}", "at '/scheduler/image/digest'"},
		{"unknown log level", "evictor: {log: {level: verbose}}", "at '/evictor/log/level': value must be one of 'debug', 'info', 'error'"},
		{"unknown log encoder", "evictor: {log: {encoder: yaml}}", "at '/evictor/log/encoder'"},
		{"no resource requests", "evictor: {resources: {requests: null}}", "at '/evictor/resources'"},
		{"no memory limit", "scheduler: {resources: {limits: {memory: null}}}", "at '/scheduler/resources/limits': missing property 'memory'"},
		{"malformed quantity", "evictor: {resources: {requests: {cpu: lots}}}", "at '/evictor/resources/requests/cpu'"},
		{"prometheus address not a URL", "evictor: {prometheusAddress: prometheus:9090}", "at '/evictor/prometheusAddress'"},
		{"negative replacement wait", "evictor: {replacementWait: -1s}", "at '/evictor/replacementWait'"},
		{"replacement wait without a unit", "evictor: {replacementWait: 10}", "at '/evictor/replacementWait'"},
		{"plugin weight 0", "scheduler: {pluginWeight: 0}", "at '/scheduler/pluginWeight': minimum: got 0, want 1"},
		{"placement weight above 100", "scheduler: {pluginArgs: {placementWeights: {headroom: 101}}}", "at '/scheduler/pluginArgs/placementWeights/headroom': maximum: got 101, want 100"},
		{"refresh interval not a duration", "scheduler: {pluginArgs: {usageRefreshInterval: 15}}", "at '/scheduler/pluginArgs/usageRefreshInterval': got number, want string"},
		{"metrics port out of range", "metrics: {service: {port: 70000}}", "at '/metrics/service/port': maximum: got 70,000, want 65,535"},
		{"secure not a boolean", `metrics: {secure: "yes"}`, "at '/metrics/secure': got string, want boolean"},
		{"ingress host with a scheme", "ingress: {hosts: [\"https://rebalancer.atarnet.org\"]}", "at '/ingress/hosts/0'"},
		{"ingress without hosts", "ingress: {hosts: []}", "at '/ingress/hosts': minItems: got 0, want 1"},
		{"tls secret name empty", `ingress: {tls: {enabled: true, secretName: ""}}`, "at '/ingress/tls/secretName'"},
		{"service monitor interval", "serviceMonitor: {interval: often}", "at '/serviceMonitor/interval'"},
		{"selector label without value", "policy: {selectorLabel: rebalancer}", "at '/policy/selectorLabel'"},
		{"threshold above 1", "policy: {thresholds: {hot: 1.5}}", "at '/policy/thresholds/hot': maximum: got 1.5, want 1"},
		{"threshold 0", "policy: {thresholds: {cold: 0}}", "at '/policy/thresholds/cold': exclusiveMinimum: got 0, want 0"},
		{"cold not below hot", "policy: {thresholds: {hot: 0.5, cold: 0.6}}", "policy.thresholds.cold must be lower than policy.thresholds.hot"},
		{"include and exclude", "policy: {namespaces: {include: [prod]}}", "set policy.namespaces.include or policy.namespaces.exclude, not both"},
		{"namespace not a DNS label", "policy: {namespaces: {exclude: [Kube_System]}}", "at '/policy/namespaces/exclude/0'"},
		{"weight above 1", "policy: {weights: {cpu: 2}}", "at '/policy/weights/cpu': maximum: got 2, want 1"},
		{"hysteresis readings 0", "policy: {hysteresis: {consecutiveReadings: 0}}", "at '/policy/hysteresis/consecutiveReadings': minimum: got 0, want 1"},
		{"interval not a duration", "policy: {interval: 1 minute}", "at '/policy/interval'"},
		{"unknown usage source", "policy: {metrics: {source: kubelet}}", "at '/policy/metrics/source': value must be one of 'metricsServer', 'prometheus'"},
		{"budget without namespace", "policy: {namespaceBudgets: [{maxDisruptionsPerHour: 1}]}", "at '/policy/namespaceBudgets/0': missing property 'namespace'"},
		{"disruption window without duration", `policy: {disruptionWindows: [{schedule: "0 2 * * *"}]}`, "at '/policy/disruptionWindows/0': missing property 'duration'"},
		{"disruption window of six fields", `policy: {disruptionWindows: [{schedule: "0 0 2 * * *", duration: 1h}]}`, "at '/policy/disruptionWindows/0/schedule'"},
		{"dryRun not a boolean", `policy: {dryRun: "false"}`, "at '/policy/dryRun': got string, want boolean"},
		{"unknown workload profile", "samples: {nodeClass: {preferredProfiles: [gpu-bound]}}", "at '/samples/nodeClass/preferredProfiles/0': value must be one of 'cpu-bound', 'memory-bound', 'balanced'"},
		{"capacity factor 0", "samples: {nodeClass: {capacityFactor: 0}}", "at '/samples/nodeClass/capacityFactor': exclusiveMinimum: got 0, want 0"},
		{"node class weight above 100", "samples: {nodeClass: {weight: 101}}", "at '/samples/nodeClass/weight': maximum: got 101, want 100"},
		{"empty node selector", "samples: {nodeClass: {nodeSelectorLabels: {kubernetes.io/arch: null}}}", "at '/samples/nodeClass/nodeSelectorLabels'"},
		{"minAvailable above 100%", `samples: {workloadSLO: {minAvailable: "150%"}}`, "at '/samples/workloadSLO/minAvailable'"},
		{"workload namespace not a DNS label", "samples: {workloadSLO: {namespace: Prod}}", "at '/samples/workloadSLO/namespace'"},
		{"test image without tag", `tests: {image: {tag: ""}}`, "at '/tests/image/tag'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runHelm(t, renderArgs(t, releaseNamespace, tc.values)...)
			if err == nil {
				t.Fatalf("helm template accepted %s; rendered:\n%s", tc.values, out)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("helm template failed without %q:\n%s", tc.wantErr, stderr)
			}
		})
	}
}
