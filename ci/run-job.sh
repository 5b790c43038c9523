#!/usr/bin/env bash
# Runs one CI Job from a template in ci/kubernetes on the cluster: fills its __PLACEHOLDERS__ with
# sed, applies it, waits until it completes or fails, and prints the logs of all its containers.
#
#   ci/run-job.sh [--render] TEMPLATE NAMESPACE JOB_NAME [KEY=VALUE...]
#
# KEY=VALUE replaces every __KEY__, JOB_NAME replaces __JOB_NAME__; a placeholder left unfilled is
# an error. --render prints the filled Job and exits (test/chart renders the templates this way).
# JOB_TIMEOUT_SECONDS (default 3600) bounds the wait.
set -euo pipefail

render_only=false
if [[ "${1:-}" == "--render" ]]; then
	render_only=true
	shift
fi
if (($# < 3)); then
	echo "usage: $0 [--render] TEMPLATE NAMESPACE JOB_NAME [KEY=VALUE...]" >&2
	exit 2
fi
template=$1 namespace=$2 job=$3
shift 3

# Values are literal: escape what sed's replacement (with | as delimiter) would interpret.
escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

expressions=(-e "s|__JOB_NAME__|$(escape "$job")|g")
for kv in "$@"; do
	key=${kv%%=*}
	value=${kv#*=}
	if [[ ! "$key" =~ ^[A-Z][A-Z0-9_]*$ || "$kv" != *=* ]]; then
		echo "bad substitution '$kv': want KEY=VALUE with KEY in upper case" >&2
		exit 2
	fi
	expressions+=(-e "s|__${key}__|$(escape "$value")|g")
done
manifest=$(sed "${expressions[@]}" "$template")
if left=$(grep -Eo '__[A-Z][A-Z0-9_]*__' <<<"$manifest" | sort -u | tr '\n' ' ') && [[ -n "$left" ]]; then
	echo "$template: placeholders left unfilled: $left" >&2
	exit 1
fi
if $render_only; then
	printf '%s\n' "$manifest"
	exit 0
fi

kubectl -n "$namespace" delete job "$job" --ignore-not-found --wait=true
printf '%s\n' "$manifest" | kubectl -n "$namespace" apply -f -

deadline=$((SECONDS + ${JOB_TIMEOUT_SECONDS:-3600}))
status=""
while ((SECONDS < deadline)); do
	status=$(kubectl -n "$namespace" get job "$job" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
	case "$status" in
	*Complete* | *Failed*) break ;;
	esac
	sleep 10
done
kubectl -n "$namespace" logs "job/$job" --all-containers --prefix --ignore-errors || true
case "$status" in
*Complete*) echo "Job $namespace/$job completed" ;;
*)
	echo "Job $namespace/$job did not complete: ${status:-timed out}" >&2
	exit 1
	;;
esac
