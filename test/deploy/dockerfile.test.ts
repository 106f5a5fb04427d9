import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helm-cli.js';

// No Docker engine here: the image cannot be built, so its Dockerfile is held to its
// promises by reading it. Each instruction is one logical line (continuations joined).
interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

async function readStages(): Promise<{ args: Map<string, string>; stages: Stage[] }> {
  const text = await readFile(join(repoRoot, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      const image = (match?.[1] ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
      stages.push({ from: image, name: match?.[2], instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const jsonArray = (text: string): string[] => JSON.parse(text) as string[];

describe('Dockerfile', () => {
  it('is multi-stage on a Node.js LTS (even-numbered) image', async () => {
    const { stages } = await readStages();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const major = /^node:(\d+)/.exec(stage.from)?.[1];
      expect(major, stage.from).toBeDefined();
      expect(Number(major) % 2, `${stage.from} is not an LTS line`).toBe(0);
      expect(Number(major)).toBeGreaterThanOrEqual(20);
    }
  });

  it('ships production dependencies only, installed with npm ci --omit=dev', async () => {
    const { stages } = await readStages();
    const runtime = stages.at(-1);
    const copies = runtime?.instructions.filter((i) => i.keyword === 'COPY') ?? [];
    const modules = copies.find((c) => /node_modules/.test(c.args));
    const from = /--from=(\S+)/.exec(modules?.args ?? '')?.[1];
    const source = stages.find((s) => s.name === from);
    expect(source, 'node_modules comes from a named stage').toBeDefined();
    const installs = source?.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)) ?? [];
    expect(installs).toHaveLength(1);
    expect(installs[0]?.args).toContain('--omit=dev');
    // The runtime stage installs nothing itself.
    expect(runtime?.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
  });

  it('runs as a numeric non-root user', async () => {
    const { stages } = await readStages();
    const users = stages.at(-1)?.instructions.filter((i) => i.keyword === 'USER') ?? [];
    const last = users.at(-1)?.args ?? '';
    expect(last).toMatch(/^\d+(:\d+)?$/);
    expect(Number(last.split(':')[0])).toBeGreaterThan(0);
  });

  it('has no HEALTHCHECK (Kubernetes probes do that)', async () => {
    const { stages } = await readStages();
    expect(stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([]);
  });

  it('starts the compiled CLI from dist/ with the start verb', async () => {
    const { stages } = await readStages();
    const runtime = stages.at(-1)?.instructions ?? [];
    const entrypoint = jsonArray(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]');
    const cmd = jsonArray(runtime.find((i) => i.keyword === 'CMD')?.args ?? '[]');
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect([...entrypoint, ...cmd]).toEqual(['node', pkg.bin.authctx, 'start']);
    expect(pkg.bin.authctx).toMatch(/^dist\//);
    // The runtime stage copies that compiled directory out of a build stage.
    expect(runtime.some((i) => i.keyword === 'COPY' && /--from=\S+\s+\/app\/dist\/src\s/.test(i.args))).toBe(true);
  });

  it('copies only paths that exist and that .dockerignore lets through', async () => {
    const { stages } = await readStages();
    const ignored = (await readFile(join(repoRoot, '.dockerignore'), 'utf8'))
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', '.tmp']));
    const contextSources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
    expect(contextSources.length).toBeGreaterThan(0);
    for (const source of contextSources) {
      if (source === '.') continue;
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});
