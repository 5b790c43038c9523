{{/*
Names are fixed rather than derived from the release name: the documented commands
(`kubectl port-forward deploy/rebalancer 8080:8080`) and the leader-election Lease names that RBAC
restricts by resourceNames must not depend on how the release is called.
*/}}

{{- define "rebalancer.evictor.name" -}}rebalancer{{- end -}}
{{- define "rebalancer.evictor.serviceAccount" -}}rebalancer-evictor{{- end -}}
{{- define "rebalancer.evictor.lease" -}}rebalancer-evictor.rebalancer.atarnet.org{{- end -}}
{{- define "rebalancer.metrics.service" -}}rebalancer-metrics{{- end -}}
{{- define "rebalancer.dashboard.service" -}}rebalancer-dashboard{{- end -}}
{{- define "rebalancer.scheduler.name" -}}rebalancer-scheduler{{- end -}}
{{- define "rebalancer.scheduler.lease" -}}rebalancer-scheduler{{- end -}}
{{- define "rebalancer.scheduler.config" -}}rebalancer-scheduler-config{{- end -}}

{{/* Labels every object carries. */}}
{{- define "rebalancer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: rebalancer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rebalancer
{{- end -}}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "evictor"). */}}
{{- define "rebalancer.selectorLabels" -}}
app.kubernetes.io/name: rebalancer
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's objects. */}}
{{- define "rebalancer.componentLabels" -}}
{{ include "rebalancer.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository:tag or repository@digest; call with (dict "image" .Values.evictor.image "ctx" $). */}}
{{- define "rebalancer.image" -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ .image.tag | default .ctx.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The Pod Security "restricted" pod securityContext. */}}
{{- define "rebalancer.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The Pod Security "restricted" container securityContext, with a read-only root. */}}
{{- define "rebalancer.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The scheduler's RebalancePolicy: pluginArgs.policyName, or the chart's policy. */}}
{{- define "rebalancer.scheduler.policyName" -}}
{{- .Values.scheduler.pluginArgs.policyName | default .Values.policy.name -}}
{{- end -}}

{{/* Port name of the evictor's metrics port: https when behind the authn/authz filter. */}}
{{- define "rebalancer.metrics.portName" -}}
{{- if .Values.metrics.secure -}}https-metrics{{- else -}}http-metrics{{- end -}}
{{- end -}}
