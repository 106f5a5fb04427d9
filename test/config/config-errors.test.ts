import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { buildCli, runCli } from '../support/cli.js';

/** A complete, valid environment (postgres source, HS256): each test breaks or extends it. */
const validEnv = {
  AUTHCTX_JWT_SECRET: 'hs-secret-value-that-must-never-be-printed-7f3a',
  AUTHCTX_SOURCE: 'postgres',
  AUTHCTX_DATABASE_URL: 'postgres://authctx:db-password-never-printed-91c2@127.0.0.1:5432/app',
  AUTHCTX_ADMIN_TOKEN: 'admin-token-never-printed-5d1e',
  SUPABASE_URL: 'http://127.0.0.1:54321',
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-never-printed-0b9f',
  REDIS_URL: 'redis://:redis-password-never-printed-77aa@127.0.0.1:6379/0',
};
const secrets = ['hs-secret-value-that-must-never-be-printed-7f3a', 'db-password-never-printed-91c2', 'admin-token-never-printed-5d1e', 'service-role-key-never-printed-0b9f', 'redis-password-never-printed-77aa'];

const badEnv = {
  ...validEnv,
  AUTHCTX_LISTEN: 'everywhere',
  AUTHCTX_CACHE_TTL: 'soon',
  AUTHCTX_SOURCE: 'mysql',
  REDIS_URL: 'http://127.0.0.1:6379',
  AUTHCTX_CACHE_MAX_ENTRIES: '-5',
  AUTHCTX_PUBLIC_ROUTES: '/health, /a/../b',
};
const badNames = ['AUTHCTX_LISTEN', 'AUTHCTX_CACHE_TTL', 'AUTHCTX_SOURCE', 'REDIS_URL', 'AUTHCTX_CACHE_MAX_ENTRIES', 'AUTHCTX_PUBLIC_ROUTES'];

describe('loadConfig', () => {
  it('reports every bad option in one ConfigError', () => {
    let error: unknown;
    try {
      loadConfig({ env: { ...badEnv, AUTHCTX_CONFIG: '/etc/authctx.yaml' }, readFile: () => 'cache_ttl: 5m\nnegativeTtl: forever\n' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    for (const name of [...badNames, 'cache_ttl', 'negativeTtl']) expect(message).toContain(name);
    expect(problems.length).toBeGreaterThanOrEqual(badNames.length + 2);
    expect(message).toContain('did you mean "cacheTtl"?');
  });

  it('never puts a secret into a problem message', () => {
    try {
      loadConfig({ env: { ...validEnv, AUTHCTX_DATABASE_URL: 'mysql://u:db-password-never-printed-91c2@h/db', REDIS_URL: 'nope://:redis-password-never-printed-77aa@h' } });
      expect.unreachable();
    } catch (error) {
      for (const secret of secrets) expect((error as Error).message).not.toContain(secret);
    }
  });

  it('accepts the valid environment and freezes the result', () => {
    const config = loadConfig({ env: validEnv });
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.source).toBe('postgres');
  });
});

describe('the CLI', () => {
  beforeAll(() => {
    buildCli();
  });

  it('start exits non-zero with one message naming every bad option, and no stack trace', async () => {
    const result = await runCli(['start'], badEnv);
    expect(result.code).toBe(2);
    for (const name of badNames) expect(result.stderr).toContain(name);
    expect(result.stderr).toMatch(/^authctx: invalid configuration:/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('check-config exits non-zero on a bad configuration', async () => {
    const result = await runCli(['check-config'], badEnv);
    expect(result.code).not.toBe(0);
    for (const name of badNames) expect(result.stderr).toContain(name);
  });

  it('check-config prints the effective configuration with every secret redacted', async () => {
    const result = await runCli(['check-config'], { ...validEnv, AUTHCTX_CACHE_TTL: '5m' });
    expect(result.code).toBe(0);
    const out = result.stdout + result.stderr;
    for (const secret of secrets) expect(out).not.toContain(secret);
    const line = (env: string) => result.stdout.split('\n').find((l) => l.startsWith(`${env} `))?.slice(env.length).trim();
    expect(line('AUTHCTX_JWT_SECRET')).toBe('<redacted>');
    expect(line('AUTHCTX_ADMIN_TOKEN')).toBe('<redacted>');
    expect(line('SUPABASE_SERVICE_ROLE_KEY')).toBe('<redacted>');
    expect(line('AUTHCTX_DATABASE_URL')).toBe('postgres://***:***@127.0.0.1:5432/app');
    expect(line('REDIS_URL')).toMatch(/^redis:\/\/\*\*\*(:\*\*\*)?@127\.0\.0\.1:6379\/0$/);
    expect(line('AUTHCTX_CACHE_TTL')).toBe('5m');
    expect(line('AUTHCTX_JWKS_URL')).toBe('http://127.0.0.1:54321/auth/v1/.well-known/jwks.json');
  });
});
