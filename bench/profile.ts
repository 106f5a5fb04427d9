/**
 * `--profile`: runs authctx-memory under `node --cpu-prof` and lists the frames with
 * the most self time, so the hot path's cost can be attributed (ours vs Node's HTTP stack).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from './load/run-load.js';
import { startAuthctx, type Environment } from './processes-under-test.js';
import { cachedRouteSpec, dataPath, leaderboardPath } from './scenarios.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

function frameFile(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  if (file.includes('/node_modules/')) return file.replace(/^.*\/node_modules\//, 'node_modules/');
  return file.replace(/^.*\/dist\//, 'dist/');
}

/** Which part of the stack a file belongs to: ours, a dependency, or Node itself. */
function moduleOf(url: string): string {
  const file = frameFile(url);
  if (file === '') return '(native / V8)';
  if (file.startsWith('node_modules/')) return file.split('/').slice(0, file.startsWith('node_modules/@') ? 3 : 2).join('/');
  if (file.startsWith('node:')) return file.replace(/^node:internal\//, 'node:').split('/')[0]!;
  return file;
}

/**
 * Self-time shares of the busy samples ((idle) excluded): the top `limit` frames, then
 * the same samples grouped by module.
 */
export function topFrames(profile: CpuProfile, limit = 30): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames = new Map<string, number>();
  const modules = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy++;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = frameFile(url);
    const key = `${functionName || '(anonymous)'}  ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    frames.set(key, (frames.get(key) ?? 0) + 1);
    const module = moduleOf(url);
    modules.set(module, (modules.get(module) ?? 0) + 1);
  }
  const share = (count: number) => `${((count / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%`;
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, count]) => `${share(count)}  ${key}`);
  return [
    `busy samples: ${busy} of ${profile.samples.length}; self time, share of busy samples`,
    '-- frames --',
    ...top(frames, limit),
    '-- by module --',
    ...top(modules, 20),
  ];
}

/** `path: 'cached'` profiles the cached-route path (AUTHCTX_CACHED_ROUTES hits) instead of the proxied one. */
export async function profileHotPath(environment: Environment, users: string[], durationSec: number, path: 'proxied' | 'cached' = 'proxied'): Promise<string[]> {
  const dir = join(environment.workDir, `cpu-prof-${path}`);
  const target = await startAuthctx(environment, {
    name: `authctx-profile-${path}`,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    ...(path === 'cached' ? { env: { AUTHCTX_CACHED_ROUTES: cachedRouteSpec } } : {}),
  });
  try {
    const job = { url: target.url, path: path === 'cached' ? leaderboardPath : dataPath, connections: 100, durationSec, tokens: { mode: 'fixed' as const, users } };
    await runLoad({ ...job, durationSec: 1 }, { workDir: environment.workDir, label: 'profile-warmup', generator: 'autocannon' });
    await runLoad(job, { workDir: environment.workDir, label: 'profile', generator: 'autocannon' });
  } finally {
    // The profile is written when the process exits after its SIGTERM drain.
    await target.authctx?.stop(15_000);
    await target.stop();
  }
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const found = files.filter((f) => f.endsWith('.cpuprofile'));
  if (found.length === 0) return ['(no profile written: the process did not exit cleanly)'];
  const profile = JSON.parse(readFileSync(join(dir, found[0]!), 'utf8')) as CpuProfile;
  return [`profile: ${join(dir, found[0]!)} (${profile.samples.length} samples)`, ...topFrames(profile)];
}
