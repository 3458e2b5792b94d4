{{/* Fields shared by the validating and mutating webhooks: (dict "root" $ "name" svc "caBundle" b64 "path" "/validate"). */}}
{{- define "socketguard.webhookCommon" -}}
{{- $root := .root }}
clientConfig:
  service:
    name: {{ .name }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- if .caBundle }}
  caBundle: {{ .caBundle }}
  {{- end }}
admissionReviewVersions: ["v1"]
# The webhook writes nothing, so dry-run requests are reviewed too.
sideEffects: None
# Ignore: a webhook that is down, slow or not ready never blocks the cluster.
failurePolicy: {{ $root.Values.webhook.failurePolicy }}
timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
matchPolicy: Equivalent
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ include "socketguard.excludedNamespaces" $root }}
    # Opt-out before the API server even calls the webhook.
    - key: socketguard.io/enforce
      operator: NotIn
      values: ["off"]
    {{- with $root.Values.watchNamespaces }}
    - key: kubernetes.io/metadata.name
      operator: In
      values: {{ toJson . }}
    {{- end }}
{{- end }}

{{/* cert-manager's cainjector fills caBundle from the serving Certificate. */}}
{{- define "socketguard.injectCA" -}}
{{- if eq .Values.webhook.tls.mode "certManager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "socketguard.webhookName" .) }}
{{- end }}
{{- end }}
