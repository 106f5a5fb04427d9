import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (test/support/ → ../..). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = `${repoRoot}dist/src/main.js`;

/**
 * Compiles the project to dist/ (`npm run build`: the native TypeScript compiler) unless
 * dist/ is newer than every source file, so tests run the real CLI and demo. Test files run
 * in parallel workers: a file lock keeps two builds from writing dist/ at once.
 */
export function buildCli(): void {
  if (isBuildFresh()) return;
  const tsc = `${repoRoot}node_modules/typescript-native/bin/tsc`;
  try {
    execFileSync('flock', ['/tmp/authctx-test-build.lock', process.execPath, tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'pipe' });
  } catch (error) {
    // tsc still emits on type errors (the typecheck step reports those); only a missing output is fatal here.
    const output = String((error as { stdout?: Buffer }).stdout ?? '');
    if (!existsSync(cliPath) || !/error TS\d+/.test(output)) throw error;
  }
}

/** True when dist/src/main.js is newer than every file the build compiles (another test file just built it). */
function isBuildFresh(): boolean {
  if (!existsSync(cliPath)) return false;
  const builtAt = statSync(cliPath).mtimeMs;
  return ['src', 'demo', 'scripts', 'bench'].every((dir) => {
    if (!existsSync(`${repoRoot}${dir}`)) return true;
    const files = readdirSync(`${repoRoot}${dir}`, { recursive: true, withFileTypes: true });
    return files.every((f) => !f.isFile() || !f.name.endsWith('.ts') || statSync(`${f.parentPath}/${f.name}`).mtimeMs < builtAt);
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/main.js ...args` to completion with exactly `env` (plus PATH). */
export function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 15_000): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`authctx ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function spawnCli(args: string[], env: Record<string, string | undefined>): ChildProcess {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
}
