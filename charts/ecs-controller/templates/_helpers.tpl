{{/* Chart name, truncated to 63 characters (the DNS label limit). */}}
{{- define "ecs-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name, plus the chart name unless the release name
already contains it. Truncated to 63 characters.
*/}}
{{- define "ecs-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ecs-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "ecs-controller.labels" -}}
helm.sh/chart: {{ include "ecs-controller.chart" . }}
{{ include "ecs-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: ecs-controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the controller's pods (immutable in a Deployment: keep them stable). */}}
{{- define "ecs-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecs-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ecs-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ecs-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ecs-controller.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
What the controller does with its kinds, and nothing more: read and watch them, add and remove
its finalizer (patch/update of the object; /finalizers for clusters that enforce owner references),
write status (server-side apply on /status), delete a finished FargateTask whose TTL passed, and
record Events (kube-rs's Recorder writes
events.k8s.io/v1). Used by the ClusterRole and by each per-namespace Role.
*/}}
{{- define "ecs-controller.rules" -}}
- apiGroups: ["ecs.kubefargate.dev"]
  resources: ["ecsclusters", "taskdefinitions", "fargateservices", "scalingpolicies", "fargatetasks"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["ecs.kubefargate.dev"]
  resources: ["ecsclusters/status", "taskdefinitions/status", "fargateservices/status", "scalingpolicies/status", "fargatetasks/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["ecs.kubefargate.dev"]
  resources: ["ecsclusters/finalizers", "taskdefinitions/finalizers", "fargateservices/finalizers", "scalingpolicies/finalizers", "fargatetasks/finalizers"]
  verbs: ["update", "patch"]
# A finished FargateTask is deleted when its ttlSecondsAfterFinished passes (as a Job's TTL does).
- apiGroups: ["ecs.kubefargate.dev"]
  resources: ["fargatetasks"]
  verbs: ["delete"]
# Jobs with spec.managedBy: ecs.kubefargate.dev/fargate run as ECS tasks: the controller writes their
# status and its finalizer (patch), and reads the service account that names the task role.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* The arguments of `ecs-controller run`, one quoted YAML list item each. */}}
{{- define "ecs-controller.args" -}}
{{- $c := .Values.controller -}}
- "run"
{{- with $c.region }}
- {{ printf "--region=%s" . | quote }}
{{- end }}
- {{ printf "--resync-period=%s" $c.resyncPeriod | quote }}
- {{ printf "--log-format=%s" $c.logFormat | quote }}
{{- if $c.leaderElection.enabled }}
- "--leader-elect"
- {{ printf "--leader-election-lease-name=%s" $c.leaderElection.leaseName | quote }}
{{- end }}
{{- with $c.watchNamespaces }}
- {{ printf "--watch-namespace=%s" (join "," .) | quote }}
{{- end }}
{{- with $c.labelSelector }}
- {{ printf "--label-selector=%s" . | quote }}
{{- end }}
- {{ printf "--concurrency=%d" (int $c.concurrency) | quote }}
- {{ printf "--aws-rate-share=%d" (int $c.awsRateShare) | quote }}
{{- if not (kindIs "invalid" $c.awsMaxRps) }}
- {{ printf "--aws-max-rps=%d" (int $c.awsMaxRps) | quote }}
{{- end }}
- {{ printf "--aws-timeout=%s" $c.awsTimeout | quote }}
{{- with (include "ecs-controller.accountMap" .) }}
- {{ printf "--account-map=%s/%s" $.Release.Namespace . | quote }}
{{- end }}
{{- with $c.accounts.defaultIdentity }}
- {{ printf "--default-identity=%s" . | quote }}
{{- end }}
- {{ printf "--metrics-bind-address=0.0.0.0:%d" (int .Values.metrics.port) | quote }}
{{- range $c.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* The name of the account-mapping ConfigMap, empty when there is none. */}}
{{- define "ecs-controller.accountMap" -}}
{{- $a := .Values.controller.accounts -}}
{{- if and $a.roleArns $a.existingConfigMap -}}
{{- fail "controller.accounts: set roleArns or existingConfigMap, not both" -}}
{{- else if $a.roleArns -}}
{{- printf "%s-accounts" (include "ecs-controller.fullname" .) -}}
{{- else -}}
{{- $a.existingConfigMap -}}
{{- end -}}
{{- end }}
