{{/*
Names and labels. These helpers read only .Values and .Release (and .Chart when present),
so that a parent chart can call the sidecar templates with
(dict "Values" .Values.authctx "Release" .Release).
*/}}

{{- define "authctx.name" -}}
{{- default "authctx" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "authctx.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "authctx.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "authctx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "authctx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "authctx.labels" -}}
{{ include "authctx.selectorLabels" . }}
{{- with .Chart }}
helm.sh/chart: {{ printf "%s-%s" .Name .Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service | default "Helm" }}
{{- end -}}

{{/* Pods the Service and monitors select: this chart's Deployment, or service.selector. */}}
{{- define "authctx.podSelector" -}}
{{- if .Values.service.selector -}}
{{- toYaml .Values.service.selector -}}
{{- else -}}
{{- include "authctx.selectorLabels" . -}}
{{- end -}}
{{- end -}}

{{- define "authctx.configMapName" -}}
{{- printf "%s-config" (include "authctx.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "authctx.image" -}}
{{- $tag := .Values.image.tag | default (dig "AppVersion" "" (.Chart | default dict)) | default "latest" -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* Pod terminationGracePeriodSeconds: preStop sleep + authctx's own grace + margin. */}}
{{- define "authctx.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.shutdown.terminationGracePeriodSeconds -}}
{{- add .Values.shutdown.preStopSleepSeconds .Values.shutdown.graceSeconds 10 -}}
{{- else -}}
{{- $t := int .Values.shutdown.terminationGracePeriodSeconds -}}
{{- $min := add .Values.shutdown.preStopSleepSeconds .Values.shutdown.graceSeconds -}}
{{- if le $t (int $min) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + graceSeconds (%d), or the kubelet kills authctx mid-drain" $t (int $min)) -}}
{{- end -}}
{{- $t -}}
{{- end -}}
{{- end -}}

{{/*
A duration as authctx writes it (250ms, 30s, 15m, 24h) converted to whole seconds (at least 1),
for alert thresholds.
*/}}
{{- define "authctx.durationSeconds" -}}
{{- $d := toString . -}}
{{- if not (regexMatch "^[0-9]+(ms|s|m|h)$" $d) -}}
{{- fail (printf "%q is not a duration (use e.g. 250ms, 30s, 15m, 24h)" $d) -}}
{{- end -}}
{{- $n := regexFind "^[0-9]+" $d | atoi -}}
{{- $unit := regexFind "(ms|s|m|h)$" $d -}}
{{- $seconds := 0 -}}
{{- if eq $unit "ms" }}{{ $seconds = div $n 1000 }}{{ end -}}
{{- if eq $unit "s" }}{{ $seconds = $n }}{{ end -}}
{{- if eq $unit "m" }}{{ $seconds = mul $n 60 }}{{ end -}}
{{- if eq $unit "h" }}{{ $seconds = mul $n 3600 }}{{ end -}}
{{- max $seconds 1 -}}
{{- end -}}

{{/* True (non-empty) when Redis is configured, for the Redis alert. */}}
{{- define "authctx.redisExpected" -}}
{{- $explicit := .Values.metrics.prometheusRule.redisExpected -}}
{{- if kindIs "invalid" $explicit -}}
{{- if .Values.secrets.redisUrl.name }}true{{ end -}}
{{- else if $explicit -}}
true
{{- end -}}
{{- end -}}
