{{/* Names: <release>-socketguard, or the release name alone when it already contains the chart name. */}}
{{- define "socketguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "socketguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "socketguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "socketguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: socketguard
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "operator"). */}}
{{- define "socketguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "socketguard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "socketguard.componentLabels" -}}
{{ include "socketguard.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "socketguard.operatorName" -}}
{{- printf "%s-operator" (include "socketguard.fullname" .) }}
{{- end }}

{{- define "socketguard.webhookName" -}}
{{- printf "%s-webhook" (include "socketguard.fullname" .) }}
{{- end }}

{{- define "socketguard.operatorServiceAccount" -}}
{{- default (include "socketguard.operatorName" .) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "socketguard.webhookServiceAccount" -}}
{{- default (include "socketguard.webhookName" .) .Values.webhook.serviceAccount.name }}
{{- end }}

{{- define "socketguard.webhookTLSSecret" -}}
{{- if eq .Values.webhook.tls.mode "secret" }}
{{- required "webhook.tls.secretName is required when webhook.tls.mode is secret" .Values.webhook.tls.secretName }}
{{- else }}
{{- printf "%s-tls" (include "socketguard.webhookName" .) }}
{{- end }}
{{- end }}

{{- define "socketguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the hold mode is on: the mutating webhook and the operator's Deployment patch. */}}
{{- define "socketguard.holdEnabled" -}}
{{- if or .Values.hold.enabled (eq .Values.defaultMode "hold") }}true{{ end }}
{{- end }}

{{/* Namespaces the webhook never reviews. */}}
{{- define "socketguard.excludedNamespaces" -}}
{{- $excluded := concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq }}
{{- toJson $excluded }}
{{- end }}


{{/* Pod anti-affinity: (dict "root" $ "component" "operator" "values" .Values.operator). */}}
{{- define "socketguard.affinity" -}}
{{- if .values.affinity }}
{{- toYaml .values.affinity }}
{{- else if eq .values.podAntiAffinity "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "socketguard.selectorLabels" . | nindent 10 }}
{{- else if eq .values.podAntiAffinity "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "socketguard.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end }}

{{/* Scheduling fields shared by both Deployments. */}}
{{- define "socketguard.scheduling" -}}
{{- $affinity := include "socketguard.affinity" . | trim }}
{{- if $affinity }}
affinity:
  {{- $affinity | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The container fields every SocketGuard container shares. */}}
{{- define "socketguard.containerBase" -}}
image: {{ include "socketguard.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
env:
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  - name: PYTHONDONTWRITEBYTECODE
    value: "1"
  - name: PYTHONUNBUFFERED
    value: "1"
{{- end }}

{{/* Python and kopf write temporary files; the root filesystem is read-only. */}}
{{- define "socketguard.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "socketguard.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{/* Health probes on the plain HTTP health port: (dict "path" "/readyz" "probe" .Values.x.readinessProbe). */}}
{{- define "socketguard.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: health
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}
