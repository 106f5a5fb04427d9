{{/*
The authctx sidecar, for your own Deployment.

With this chart as a dependency (alias "authctx", workload.enabled: false), in your pod spec:

  {{- $authctx := dict "Values" .Values.authctx "Release" .Release "Capabilities" .Capabilities }}
  spec:
    template:
      metadata:
        annotations:
          {{- include "authctx.podAnnotations" $authctx | nindent 10 }}
      spec:
        terminationGracePeriodSeconds: {{ include "authctx.terminationGracePeriodSeconds" $authctx }}
        {{- if eq .Values.authctx.sidecar.mode "native" }}
        initContainers:
          {{- include "authctx.sidecar" $authctx | nindent 10 }}
        {{- end }}
        containers:
          - name: backend        # listens on 127.0.0.1:8000, no containerPort needed
            ...
          {{- if ne .Values.authctx.sidecar.mode "native" }}
          {{- include "authctx.sidecar" $authctx | nindent 10 }}
          {{- end }}
        volumes:
          {{- include "authctx.volumes" $authctx | nindent 10 }}

and point your Service's targetPort at "authctx-proxy" (never at the backend's port).
"authctx.sidecar" renders one container as a YAML list item; in native mode it carries
restartPolicy: Always, which makes it a native sidecar when placed under initContainers.
*/}}

{{- define "authctx.sidecar" -}}
{{- $native := eq .Values.sidecar.mode "native" -}}
{{- if and $native .Capabilities -}}
{{- if not (semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "sidecar.mode=native needs Kubernetes >= 1.29 (target: %s); use sidecar.mode=container" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- end -}}
- name: authctx
  image: {{ include "authctx.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if $native }}
  # Native sidecar (KEP-753): started before, and stopped after, the backend.
  restartPolicy: Always
  {{- end }}
  args: ["start"]
  ports:
    - name: authctx-proxy
      containerPort: {{ .Values.ports.proxy }}
      protocol: TCP
    - name: authctx-admin
      containerPort: {{ .Values.ports.admin }}
      protocol: TCP
  env:
    - name: AUTHCTX_CONFIG
      value: /etc/authctx/authctx.yaml
    - name: AUTHCTX_LISTEN
      value: {{ printf "0.0.0.0:%d" (int .Values.ports.proxy) | quote }}
    - name: AUTHCTX_ADMIN_LISTEN
      value: {{ printf "0.0.0.0:%d" (int .Values.ports.admin) | quote }}
    - name: AUTHCTX_SHUTDOWN_GRACE
      value: {{ printf "%ds" (int .Values.shutdown.graceSeconds) | quote }}
    {{- if .Values.supabaseUrl }}
    - name: SUPABASE_URL
      value: {{ .Values.supabaseUrl | quote }}
    {{- end }}
    {{- with include "authctx.secretEnv" . | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  startupProbe:
    httpGet:
      path: /readyz
      port: authctx-admin
    periodSeconds: {{ .Values.probes.startup.periodSeconds }}
    failureThreshold: {{ .Values.probes.startup.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: authctx-admin
    periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
    failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  livenessProbe:
    httpGet:
      path: /livez
      port: authctx-admin
    periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
    failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
    timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  {{- if gt (int .Values.shutdown.preStopSleepSeconds) 0 }}
  lifecycle:
    # Keep serving while the endpoint is removed from Services and load balancers; authctx
    # gets SIGTERM after this, turns /readyz 503 and lets in-flight requests finish.
    preStop:
      exec:
        command: ["sleep", {{ .Values.shutdown.preStopSleepSeconds | toString | quote }}]
  {{- end }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: authctx-config
      mountPath: /etc/authctx
      readOnly: true
    - name: authctx-tmp
      mountPath: /tmp
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Environment variables taken from existing Secrets by name (secretKeyRef). */}}
{{- define "authctx.secretEnv" -}}
{{- $envNames := dict
  "jwtSecret" "AUTHCTX_JWT_SECRET"
  "serviceRoleKey" "SUPABASE_SERVICE_ROLE_KEY"
  "adminToken" "AUTHCTX_ADMIN_TOKEN"
  "redisUrl" "REDIS_URL"
  "databaseUrl" "AUTHCTX_DATABASE_URL"
  "supabaseUrl" "SUPABASE_URL" -}}
{{- if and .Values.supabaseUrl .Values.secrets.supabaseUrl.name -}}
{{- fail "set supabaseUrl or secrets.supabaseUrl.name, not both" -}}
{{- end -}}
{{- range $entry := list "jwtSecret" "serviceRoleKey" "adminToken" "redisUrl" "databaseUrl" "supabaseUrl" }}
{{- $ref := index $.Values.secrets $entry }}
{{- if $ref.name }}
- name: {{ index $envNames $entry }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod volumes the sidecar mounts. */}}
{{- define "authctx.volumes" -}}
- name: authctx-config
  configMap:
    name: {{ include "authctx.configMapName" . }}
- name: authctx-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: roll the pods when the authctx configuration changes. */}}
{{- define "authctx.podAnnotations" -}}
checksum/authctx-config: {{ toYaml .Values.config | sha256sum }}
{{- end -}}
