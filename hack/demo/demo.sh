#!/usr/bin/env bash
# make demo: the Rebalancer on a local simulated cluster. Starts the sandbox (sandbox.sh), creates
# four x86 nodes and two Raspberry Pi 4 nodes with their NodeClasses, skewed opted-in workloads,
# runs our scheduler and evictor as processes, applies the policy with dryRun false and prints,
# cycle by cycle, what the evictor does. Ctrl-C stops every process and deletes the cluster.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${REBALANCER_BIN:-$ROOT/bin}
KUBECTL=$BIN/controlplane/kubectl
SANDBOX=$ROOT/hack/demo/sandbox.sh
NAME=${DEMO_CLUSTER:-rebalancer-demo}
APISERVER_PORT=${DEMO_APISERVER_PORT:-36443}
KWOK_PORT=${DEMO_KWOK_PORT:-36247}
EVICTOR_ADDR=${DEMO_EVICTOR_ADDR:-127.0.0.1:8080}
PROBE_ADDR=${DEMO_PROBE_ADDR:-127.0.0.1:8081}
LOGS=$BIN/sandbox/$NAME
X86_NODES=(x86-1 x86-2 x86-3 x86-4)
RPI_NODES=(rpi4-1 rpi4-2)
HOT_NODES=(x86-1 x86-2)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

pids=()
cleanup() {
	trap - EXIT INT TERM
	say "Stopping the scheduler, the evictor and the sandbox"
	for pid in "${pids[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	"$SANDBOX" down "$NAME"
	say "Stopped; nothing of the demo is running"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: run CMD in its own process group (so that cleanup stops all of it), logging
# to $LOGS/NAME.log.
start() {
	local name=$1
	shift
	setsid "$@" >"$LOGS/$name.log" 2>&1 &
	pids+=("$!")
}

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

for addr in "$EVICTOR_ADDR" "$PROBE_ADDR"; do
	if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
		echo "Something already listens on $addr (another make demo?); stop it first" >&2
		exit 1
	fi
done

start_time=$SECONDS
say "Starting the sandbox (kwok, kube-apiserver, etcd, kube-controller-manager, kube-scheduler, metrics-server)"
KUBECONFIG_PATH=$("$SANDBOX" up "$NAME" "$APISERVER_PORT" "$KWOK_PORT")
mkdir -p "$LOGS"

say "Installing the Rebalancer's CRDs"
k apply -f "$ROOT/manifests/crds/" >/dev/null
k wait --for condition=Established --timeout 60s crd --all >/dev/null

say "Creating nodes: ${X86_NODES[*]} (x86, 8 CPU, 32Gi) and ${RPI_NODES[*]} (Raspberry Pi 4, arm64, 4 CPU, 8Gi)"
for n in "${X86_NODES[@]}"; do "$SANDBOX" node "$NAME" x86 "$n"; done
for n in "${RPI_NODES[@]}"; do "$SANDBOX" node "$NAME" rpi4 "$n"; done
k wait --for condition=Ready --timeout 120s node --all >/dev/null
k apply -f "$ROOT/manifests/samples/nodeclass_rpi4.yaml" -f "$ROOT/hack/demo/manifests/nodeclasses.yaml" >/dev/null

say "Starting the rebalancer-scheduler (bin/scheduler, log $LOGS/scheduler.log)"
# With --config, kube-scheduler reads its kubeconfig from clientConnection, not from --kubeconfig.
{ cat "$ROOT/manifests/scheduler/kube-scheduler-config.yaml"; printf 'clientConnection:\n  kubeconfig: %s\n' "$KUBECONFIG_PATH"; } >"$LOGS/scheduler-config.yaml"
start scheduler "$BIN/scheduler" --config "$LOGS/scheduler-config.yaml" --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
	--bind-address 127.0.0.1 --secure-port 0

say "Creating the workloads while only ${HOT_NODES[*]} take pods, so that they start hot"
for n in "${X86_NODES[@]}" "${RPI_NODES[@]}"; do
	[[ " ${HOT_NODES[*]} " == *" $n "* ]] || k cordon "$n" >/dev/null
done
k apply -f "$ROOT/hack/demo/manifests/node-agent.yaml" -f "$ROOT/hack/demo/manifests/workloads.yaml" >/dev/null
if ! { k -n infra rollout status daemonset/node-agent --timeout 180s && k -n prod rollout status deployment/api --timeout 180s && k -n batch rollout status deployment/crunch --timeout 180s; } >/dev/null; then
	echo "The workloads did not start; the scheduler's log ends with:" >&2
	tail -20 "$LOGS/scheduler.log" >&2
	exit 1
fi
for n in "${X86_NODES[@]}" "${RPI_NODES[@]}"; do k uncordon "$n" >/dev/null; done
k get pods -A -l rebalancer=ok -o wide | awk '{print "    " $0}'

say "Waiting for metrics-server to report every node's usage (kubectl top nodes)"
for _ in $(seq 60); do out=$(k top nodes 2>/dev/null) && ! grep -q unknown <<<"$out" && break; sleep 2; done
k top nodes | awk '{print "    " $0}'

say "Starting the evictor (bin/evictor, log $LOGS/evictor.log) and applying the policy with dryRun false"
k apply -f "$ROOT/manifests/samples/workloadslo_prod_api.yaml" -f "$ROOT/hack/demo/manifests/policy.yaml" >/dev/null
start evictor "$BIN/evictor" --kubeconfig "$KUBECONFIG_PATH" --metrics-bind-address "$EVICTOR_ADDR" \
	--health-probe-bind-address "$PROBE_ADDR"

say "Ready after $((SECONDS - start_time))s. Dashboard: http://$EVICTOR_ADDR/dashboard   kubeconfig: $KUBECONFIG_PATH"
say "A cycle every 15s; nodes turn hot after 2 readings; pods may move once 30s old, one per workload every 30s. Ctrl-C stops everything."
"$BIN/demo-watch" --evictor "http://$EVICTOR_ADDR" --policy default || true
