import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { chartDir, helm, type K8sObject, renderChart } from './helm-cli.js';
import { validateAll } from './k8s-validate.js';

// Shapes read from the rendered manifests (only the fields the assertions touch).
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  restartPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Workload extends K8sObject {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface ServiceObject extends K8sObject {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
}

interface Values {
  sidecar?: { mode?: string };
  secrets?: Record<string, { name?: string; key?: string }>;
  shutdown?: { graceSeconds?: number; preStopSleepSeconds?: number };
  config?: Record<string, unknown>;
}

const secretEnvNames: Record<string, string> = {
  jwtSecret: 'AUTHCTX_JWT_SECRET',
  serviceRoleKey: 'SUPABASE_SERVICE_ROLE_KEY',
  adminToken: 'AUTHCTX_ADMIN_TOKEN',
  redisUrl: 'REDIS_URL',
  databaseUrl: 'AUTHCTX_DATABASE_URL',
  supabaseUrl: 'SUPABASE_URL',
};
const defaultSecretKeys: Record<string, string> = {
  jwtSecret: 'jwt-secret',
  serviceRoleKey: 'service-role-key',
  adminToken: 'admin-token',
  redisUrl: 'redis-url',
  databaseUrl: 'database-url',
  supabaseUrl: 'supabase-url',
};

// What the kubelet would put in the environment for a secretKeyRef, by variable: any value
// of the right shape, so that authctx's own config loader can judge the rendered pod.
const sampleSecretValues: Record<string, string> = {
  AUTHCTX_JWT_SECRET: 'x'.repeat(32),
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-key',
  AUTHCTX_ADMIN_TOKEN: 'admin-token',
  REDIS_URL: 'redis://redis.apps.svc:6379',
  AUTHCTX_DATABASE_URL: 'postgres://authctx@db.apps.svc:5432/app',
  SUPABASE_URL: 'https://project.supabase.co',
};

const ciDir = join(chartDir, 'ci');
const scenarios = (await readdir(ciDir)).filter((file) => file.endsWith('-values.yaml')).sort();

function find<T extends K8sObject>(objects: K8sObject[], kind: string, nameSuffix = ''): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  expect(found, `${kind} *${nameSuffix}`).toHaveLength(1);
  return found[0] as T;
}

function authctxContainer(pod: PodSpec): { container: Container; init: boolean } {
  const inInit = (pod.initContainers ?? []).filter((c) => c.name === 'authctx');
  const inMain = pod.containers.filter((c) => c.name === 'authctx');
  expect(inInit.length + inMain.length, 'exactly one authctx container').toBe(1);
  const container = inInit[0] ?? inMain[0];
  if (!container) throw new Error('no authctx container');
  return { container, init: inInit.length === 1 };
}

function portNumber(container: Container, ref: string | number): number | undefined {
  if (typeof ref === 'number') return ref;
  return container.ports?.find((p) => p.name === ref)?.containerPort;
}

it('finds the four CI scenarios', () => {
  expect(scenarios).toEqual([
    'full-values.yaml',
    'memory-values.yaml',
    'native-sidecar-values.yaml',
    'redis-values.yaml',
  ]);
});

describe.each(scenarios)('chart scenario %s', (file) => {
  const valuesFile = join(ciDir, file);
  let values: Values;
  let objects: K8sObject[];

  beforeAll(async () => {
    values = (parseYaml(await readFile(valuesFile, 'utf8')) ?? {}) as Values;
    objects = await renderChart(['-f', valuesFile]);
  });

  it('passes helm lint --strict', async () => {
    const result = await helm(['lint', chartDir, '--strict', '-f', valuesFile]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it('renders manifests that validate against the Kubernetes and prometheus-operator schemas', () => {
    expect(objects.length).toBeGreaterThanOrEqual(3);
    expect(validateAll(objects)).toEqual([]);
  });

  it('sends Service traffic to the authctx proxy port and never to the backend', () => {
    const deployment = find<Workload>(objects, 'Deployment');
    const service = find<ServiceObject>(objects, 'Service', '-authctx');
    const pod = deployment.spec.template.spec;
    const { container } = authctxContainer(pod);
    expect(service.spec.ports).toHaveLength(1);
    const target = service.spec.ports[0]?.targetPort ?? '';
    expect(portNumber(container, target)).toBe(8080);
    // The backend declares no port at all, so nothing can target it by name.
    const backend = pod.containers.find((c) => c.name === 'backend');
    expect(backend?.ports ?? []).toEqual([]);
    for (const port of service.spec.ports) expect(port.targetPort).not.toBe(8000);
    // The selector picks this chart's pods.
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  it('runs authctx as a native sidecar or a plain container as sidecar.mode says', () => {
    const pod = find<Workload>(objects, 'Deployment').spec.template.spec;
    const { container, init } = authctxContainer(pod);
    if (values.sidecar?.mode === 'native') {
      expect(init).toBe(true);
      expect(container.restartPolicy).toBe('Always');
    } else {
      expect(init).toBe(false);
      expect(container.restartPolicy).toBeUndefined();
    }
  });

  it('probes startup and readiness on /readyz and liveness on /livez, on the admin port', () => {
    const { container } = authctxContainer(find<Workload>(objects, 'Deployment').spec.template.spec);
    expect(container.startupProbe?.httpGet?.path).toBe('/readyz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect(portNumber(container, probe?.httpGet?.port ?? '')).toBe(9090);
    }
  });

  it('drains on shutdown: preStop sleep, then a grace period longer than sleep plus authctx grace', () => {
    const pod = find<Workload>(objects, 'Deployment').spec.template.spec;
    const { container } = authctxContainer(pod);
    const sleep = values.shutdown?.preStopSleepSeconds ?? 5;
    const grace = values.shutdown?.graceSeconds ?? 25;
    expect(container.lifecycle?.preStop?.exec?.command).toEqual(['sleep', String(sleep)]);
    expect(container.env).toContainEqual({ name: 'AUTHCTX_SHUTDOWN_GRACE', value: `${grace}s` });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep + grace);
  });

  it('takes secrets from the named existing Secrets by secretKeyRef, never as literal values', () => {
    const { container } = authctxContainer(find<Workload>(objects, 'Deployment').spec.template.spec);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const env = container.env ?? [];
    for (const [entry, envName] of Object.entries(secretEnvNames)) {
      const ref = values.secrets?.[entry];
      const rendered = env.filter((e) => e.name === envName);
      if (ref?.name) {
        expect(rendered).toEqual([
          { name: envName, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key ?? defaultSecretKeys[entry] } } },
        ]);
      } else if (envName !== 'SUPABASE_URL') {
        expect(rendered).toEqual([]);
      }
    }
  });

  it('gives authctx a configuration (file plus env) that its own loader accepts', () => {
    const { container } = authctxContainer(find<Workload>(objects, 'Deployment').spec.template.spec);
    const configMap = find<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap', '-config');
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const value = variable.value ?? (variable.valueFrom?.secretKeyRef ? sampleSecretValues[variable.name] : undefined);
      expect(value, variable.name).toBeDefined();
      env[variable.name] = value ?? '';
    }
    const config = loadConfig({
      env,
      readFile: (path) => {
        expect(path).toBe(env.AUTHCTX_CONFIG);
        return configMap.data['authctx.yaml'] ?? '';
      },
    });
    expect(config.listen.port).toBe(8080);
    expect(config.adminListen.port).toBe(9090);
    expect(config.shutdownGrace).toBe((values.shutdown?.graceSeconds ?? 25) * 1000);
    expect(config.upstreamUrl).toBe('http://127.0.0.1:8000');
  });

  it('mounts the configuration file from the ConfigMap named by AUTHCTX_CONFIG', () => {
    const pod = find<Workload>(objects, 'Deployment').spec.template.spec;
    const { container } = authctxContainer(pod);
    const configMap = find<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap', '-config');
    const file = parseYaml(configMap.data['authctx.yaml'] ?? '') as Record<string, unknown>;
    expect(file).toMatchObject({ upstreamUrl: 'http://127.0.0.1:8000', ...values.config });
    const configPath = container.env?.find((e) => e.name === 'AUTHCTX_CONFIG')?.value ?? '';
    const mount = container.volumeMounts?.find((m) => configPath.startsWith(`${m.mountPath}/`));
    expect(configPath.slice((mount?.mountPath.length ?? 0) + 1)).toBe('authctx.yaml');
    expect(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe(configMap.metadata.name);
  });
});

describe('chart scenario full-values.yaml, optional resources', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderChart(['-f', join(ciDir, 'full-values.yaml')]);
  });

  it('renders every optional resource', () => {
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'PrometheusRule',
        'ServiceMonitor',
      ]),
    );
  });

  it('puts the Grafana dashboard, as valid JSON, in a labelled ConfigMap', () => {
    const dashboard = find<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap', '-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse(dashboard.data['authctx.json'] ?? '') as { uid: string; panels: unknown[] };
    expect(json.uid).toBe('authctx');
    expect(json.panels.length).toBeGreaterThan(10);
  });

  it('has the five alerts, with zones age at two refresh periods (6h → 43200 s)', () => {
    const rule = find<K8sObject & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }>(
      objects,
      'PrometheusRule',
    );
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'AuthctxCacheHitRatioLow',
      'AuthctxContextSourceErrors',
      'AuthctxRedisDown',
      'AuthctxServingStaleContext',
      'AuthctxZonesStale',
    ]);
    const zones = rules.find((r) => r.alert === 'AuthctxZonesStale');
    expect(zones?.expr).toMatch(/time\(\) - max by \(namespace, pod\) \(authctx_zones_last_success_timestamp_seconds\{namespace="apps"\}\) > 43200\b/);
  });

  it('scrapes the admin port through a metrics-only Service, apart from the client Service', () => {
    const metrics = find<ServiceObject>(objects, 'Service', '-metrics');
    expect(metrics.spec.ports.map((p) => p.targetPort)).toEqual(['authctx-admin']);
    const client = find<ServiceObject>(objects, 'Service', '-authctx');
    expect(client.spec.ports.map((p) => p.targetPort)).toEqual(['authctx-proxy']);
  });

  it('opens only authctx ports in the NetworkPolicy', () => {
    const policy = find<K8sObject & { spec: { ingress: { ports: { port: string }[] }[] } }>(objects, 'NetworkPolicy');
    const ports = policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort();
    expect(ports).toEqual(['authctx-admin', 'authctx-proxy']);
  });
});

describe('chart guards', () => {
  it('refuses native sidecar mode on Kubernetes older than 1.29', async () => {
    const result = await helm(['template', 'demo', chartDir, '-f', join(ciDir, 'native-sidecar-values.yaml'), '--kube-version', '1.28.0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('needs Kubernetes >= 1.29');
  });

  it('accepts native sidecar mode on Kubernetes 1.29', async () => {
    const objects = await renderChart(['-f', join(ciDir, 'native-sidecar-values.yaml'), '--kube-version', '1.29.0']);
    expect(objects.some((o) => o.kind === 'Deployment')).toBe(true);
  });

  it('rejects an unknown sidecar mode through values.schema.json', async () => {
    const result = await helm(['template', 'demo', chartDir, '-f', join(ciDir, 'memory-values.yaml'), '--set', 'sidecar.mode=sideways']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/sidecar/mode');
  });

  it('rejects a termination grace period that would cut the drain short', async () => {
    const result = await helm([
      'template', 'demo', chartDir, '-f', join(ciDir, 'memory-values.yaml'),
      '--set', 'shutdown.terminationGracePeriodSeconds=20',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('terminationGracePeriodSeconds');
  });

  it('requires a backend image when the chart owns the workload', async () => {
    const result = await helm(['template', 'demo', chartDir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('backend.image is required');
  });
});

describe('authctx.sidecar in a user-owned Deployment', () => {
  let parentDir: string;

  beforeAll(async () => {
    // A parent chart that vendors authctx under charts/ and includes the named templates in
    // its own Deployment, exactly as the _sidecar.tpl comment tells users to.
    parentDir = await mkdtemp(join(tmpdir(), 'authctx-parent-'));
    await mkdir(join(parentDir, 'templates'));
    await cp(chartDir, join(parentDir, 'charts', 'authctx'), { recursive: true });
    await writeFile(
      join(parentDir, 'Chart.yaml'),
      'apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n  - name: authctx\n    version: 0.1.0\n',
    );
    await writeFile(
      join(parentDir, 'values.yaml'),
      [
        'authctx:',
        '  sidecar:',
        '    mode: native',
        '  workload:',
        '    enabled: false',
        '  service:',
        '    selector:',
        '      app: shop',
        '  secrets:',
        '    jwtSecret:',
        '      name: shop-auth',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(parentDir, 'templates', 'deployment.yaml'),
      `{{- $authctx := dict "Values" .Values.authctx "Release" .Release "Capabilities" .Capabilities }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
      annotations:
        {{- include "authctx.podAnnotations" $authctx | nindent 8 }}
    spec:
      terminationGracePeriodSeconds: {{ include "authctx.terminationGracePeriodSeconds" $authctx }}
      {{- if eq .Values.authctx.sidecar.mode "native" }}
      initContainers:
        {{- include "authctx.sidecar" $authctx | nindent 8 }}
      {{- end }}
      containers:
        - name: backend
          image: shop:1
        {{- if ne .Values.authctx.sidecar.mode "native" }}
        {{- include "authctx.sidecar" $authctx | nindent 8 }}
        {{- end }}
      volumes:
        {{- include "authctx.volumes" $authctx | nindent 8 }}
`,
    );
  });

  afterAll(async () => {
    if (parentDir) await rm(parentDir, { recursive: true, force: true });
  });

  it('renders a valid pod with the sidecar, its config volume and a Service that targets authctx', async () => {
    const objects = await renderChart([], parentDir);
    expect(validateAll(objects)).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['shop']);
    const pod = find<Workload>(objects, 'Deployment').spec.template.spec;
    const { container, init } = authctxContainer(pod);
    expect(init).toBe(true);
    expect(container.restartPolicy).toBe('Always');
    expect(container.env).toContainEqual({
      name: 'AUTHCTX_JWT_SECRET',
      valueFrom: { secretKeyRef: { name: 'shop-auth', key: 'jwt-secret' } },
    });
    const configMap = find<K8sObject>(objects, 'ConfigMap', '-config');
    expect(pod.volumes?.find((v) => v.name === 'authctx-config')?.configMap?.name).toBe(configMap.metadata.name);
    const service = find<ServiceObject>(objects, 'Service', '-authctx');
    expect(service.spec.selector).toEqual({ app: 'shop' });
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['authctx-proxy']);
  });
});
