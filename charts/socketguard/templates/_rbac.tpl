{{/*
RBAC rules, split by scope so that `watchNamespaces` can grant the namespaced part per namespace
(RoleBindings to a ClusterRole) while the cluster-scoped part stays a ClusterRoleBinding.
Explicit groups, resources and verbs only: no wildcards, and never Secrets or ConfigMaps.
*/}}

{{/* What the engine reads: every input kind of the operator and the webhook. */}}
{{- define "socketguard.rbac.readInputs" -}}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices", "destinationrules", "gateways"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes", "gateways", "gatewayclasses", "referencegrants"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses", "ingressclasses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["traefik.io"]
  resources: ["ingressroutes", "middlewares"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/* Cluster-scoped reads: namespace labels (socketguard.io/enforce) and which optional CRDs exist. */}}
{{- define "socketguard.rbac.readCluster" -}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{- define "socketguard.rbac.operatorCluster" -}}
{{ include "socketguard.rbac.readCluster" . }}
{{- if not .Values.watchNamespaces }}
# kopf peering (cluster-wide operator): the replicas agree on one active instance.
- apiGroups: ["kopf.dev"]
  resources: ["clusterkopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{- define "socketguard.rbac.operatorNamespaced" -}}
{{ include "socketguard.rbac.readInputs" . }}
# The SocketRouteReady condition: status subresources only, never the objects themselves.
- apiGroups: ["apps"]
  resources: ["deployments/status", "statefulsets/status", "daemonsets/status"]
  verbs: ["get", "patch"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices/status"]
  verbs: ["get", "patch"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts/status"]
  verbs: ["get", "patch"]
# Events: posted once per finding, read back after a restart so none is posted twice.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "list"]
# The namespaced report, whichever CRD exists.
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["openreports.io"]
  resources: ["reports"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- if include "socketguard.holdEnabled" . }}
# hold mode: resume (spec.paused: false) a Deployment the webhook paused, once its finding clears.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["patch"]
{{- end }}
{{- if .Values.watchNamespaces }}
# kopf peering (namespaced operator): one KopfPeering per watched namespace.
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/*
Bindings of one component: (dict "root" $ "component" "operator" "serviceAccount" name).
Cluster-wide: two ClusterRoleBindings. With watchNamespaces: the namespaced ClusterRole is bound
by a RoleBinding in each watched namespace, so it grants nothing elsewhere.
*/}}
{{- define "socketguard.rbac.bindings" -}}
{{- $root := .root }}
{{- $name := printf "%s-%s" (include "socketguard.fullname" $root) .component }}
{{- $subject := dict "kind" "ServiceAccount" "name" .serviceAccount "namespace" $root.Release.Namespace }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}-cluster
  labels:
    {{- include "socketguard.componentLabels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}-cluster
subjects:
  - {{ toJson $subject }}
{{- if not $root.Values.watchNamespaces }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "socketguard.componentLabels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - {{ toJson $subject }}
{{- else }}
{{- range $namespace := $root.Values.watchNamespaces }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ $namespace }}
  labels:
    {{- include "socketguard.componentLabels" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - {{ toJson $subject }}
{{- end }}
{{- end }}
{{- end }}
