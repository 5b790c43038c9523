#!/usr/bin/env bash
# The local simulated cluster the demo and the e2e playbook run against: kwokctl's binary runtime
# with the binaries built in bin/ (nothing downloaded), metrics-server from its module's own
# manifests, kwok serving pod usage from the kwok.x-k8s.io/usage-* annotations, and nodes created
# from our manifests with InternalIP 127.0.0.1 so that nothing dials outside 127.0.0.0/8.
#
#   sandbox.sh up NAME APISERVER_PORT KWOK_PORT   create (or recreate) the cluster, print its kubeconfig path
#   sandbox.sh node NAME KIND NODE_NAME           create a simulated node; KIND is x86 or rpi4
#   sandbox.sh down NAME                          delete the cluster and every process it started
#
# For the scale run (test/scale): SANDBOX_AUDIT_POLICY=FILE makes the kube-apiserver write an audit
# log (kwokctl's logs/audit.log) with that policy; SANDBOX_NO_QPS_LIMITS=1 lifts the client rate
# limits of kwok, kube-controller-manager and kube-scheduler (kwokctl's disableQPSLimits).
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${REBALANCER_BIN:-$ROOT/bin}
CP=$BIN/controlplane
KWOKCTL=$BIN/kwokctl
KUBECTL=$CP/kubectl
STATE=$BIN/sandbox

log() { printf '\033[1m[sandbox]\033[0m %s\n' "$*" >&2; }

moddir() { (cd "$ROOT/$1" && go list -m -f '{{.Dir}}' "$2"); }

up() {
	local name=$1 apiport=$2 kwokport=$3
	local dir=$STATE/$name
	mkdir -p "$dir"
	"$KWOKCTL" delete cluster --name "$name" >/dev/null 2>&1 || true

	local msdir kwokdir
	msdir=$(moddir hack/tools/metricsserver sigs.k8s.io/metrics-server)/manifests/base
	kwokdir=$(moddir hack/tools/kwok sigs.k8s.io/kwok)
	# kwokctl starts the components without waiting for one another, and a metrics-server that
	# comes up before the kube-apiserver listens exits for good (then nothing reports usage). It
	# runs through a wrapper that waits for the kube-apiserver, then becomes metrics-server.
	cat >"$dir/metrics-server" <<WRAPPER
#!/usr/bin/env bash
for arg in "\$@"; do
	case \$arg in --kubeconfig=*) kubeconfig=\${arg#--kubeconfig=} ;; esac
done
for _ in \$(seq 120); do
	[ -n "\${kubeconfig:-}" ] || break # kwokctl asking for the version
	"$KUBECTL" --kubeconfig "\$kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
	sleep 1
done
exec "$BIN/metrics-server" "\$@"
WRAPPER
	chmod +x "$dir/metrics-server"
	cat >"$dir/kwokctl.yaml" <<CONF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverPort: $apiport
  kwokControllerPort: $kwokport
  enableMetricsServer: true
  enableCRDs: [Metric, ClusterResourceUsage, ResourceUsage]
  metricsServerManifests: ["$msdir"]
  kubeApiserverBinary: $CP/kube-apiserver
  kubeControllerManagerBinary: $CP/kube-controller-manager
  kubeSchedulerBinary: $CP/kube-scheduler
  kubectlBinary: $KUBECTL
  etcdBinary: $CP/etcd
  kwokControllerBinary: $BIN/kwok
  metricsServerBinary: $dir/metrics-server
  cacheDir: $dir/cache
CONF
	if [ -n "${SANDBOX_AUDIT_POLICY:-}" ]; then
		echo "  kubeAuditPolicy: $SANDBOX_AUDIT_POLICY" >>"$dir/kwokctl.yaml"
	fi
	if [ -n "${SANDBOX_NO_QPS_LIMITS:-}" ]; then
		echo "  disableQPSLimits: true" >>"$dir/kwokctl.yaml"
	fi
	# The cluster counts as up only once the metrics API answers; otherwise it is recreated.
	local attempt
	for attempt in 1 2 3; do
		log "Starting cluster $name (kube-apiserver 127.0.0.1:$apiport, kwok 127.0.0.1:$kwokport), attempt $attempt"
		"$KWOKCTL" create cluster --name "$name" --config "$dir/kwokctl.yaml" --wait 2m >"$dir/create.log" 2>&1 ||
			{ cat "$dir/create.log" >&2; return 1; }
		"$KWOKCTL" get kubeconfig --name "$name" >"$dir/kubeconfig"
		if metrics_api "$dir/kubeconfig" 90; then
			break
		fi
		log "The metrics API did not answer within 90s; metrics-server's last lines:"
		"$KWOKCTL" logs metrics-server --name "$name" 2>&1 | tail -n 20 >&2 || true
		"$KWOKCTL" delete cluster --name "$name" >/dev/null 2>&1 || true
		if [ "$attempt" = 3 ]; then
			log "Giving up: no metrics API after 3 clusters"
			return 1
		fi
	done
	# The Metric (kubelet resource metrics per node) and ClusterResourceUsage (usage from the pod
	# annotations) objects shipped in the kwok module.
	"$KUBECTL" --kubeconfig "$dir/kubeconfig" apply -k "$kwokdir/kustomize/metrics/usage" >/dev/null
	echo "$dir/kubeconfig"
}

# metrics_api KUBECONFIG SECONDS: wait until metrics-server answers through the aggregated API.
metrics_api() {
	local kubeconfig=$1 seconds=$2 i
	for ((i = 0; i < seconds; i += 2)); do
		if "$KUBECTL" --kubeconfig "$kubeconfig" get --raw /apis/metrics.k8s.io/v1beta1/nodes >/dev/null 2>&1; then
			return 0
		fi
		sleep 2
	done
	return 1
}

node() {
	local name=$1 kind=$2 node=$3
	local kwokport cpu mem arch
	kwokport=$(awk '$1 == "kwokControllerPort:" {print $2}' "$STATE/$name/kwokctl.yaml")
	case $kind in
	x86) cpu=8 mem=32Gi arch=amd64 ;;
	rpi4) cpu=4 mem=8Gi arch=arm64 ;;
	*) echo "unknown node kind $kind" >&2; return 1 ;;
	esac
	sed -e "s/NODE_NAME/$node/g" -e "s/KWOK_PORT/$kwokport/g" -e "s/NODE_CPU/$cpu/g" \
		-e "s/NODE_MEMORY/$mem/g" -e "s/NODE_ARCH/$arch/g" -e "s/NODE_KIND/$kind/g" \
		"$ROOT/hack/demo/manifests/node.yaml.tmpl" |
		"$KUBECTL" --kubeconfig "$STATE/$name/kubeconfig" apply -f - >/dev/null
}

down() {
	local name=$1
	"$KWOKCTL" delete cluster --name "$name" >/dev/null 2>&1 || true
}

cmd=${1:?usage: sandbox.sh up|node|down NAME ...}
shift
"$cmd" "$@"
