{{- define "mageagent.labels" -}}
app.kubernetes.io/part-of: adverant
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
