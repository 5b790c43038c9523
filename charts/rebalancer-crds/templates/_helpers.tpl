{{- define "rebalancer-crds.labels" -}}
app.kubernetes.io/name: rebalancer
app.kubernetes.io/part-of: rebalancer
app.kubernetes.io/component: crds
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
