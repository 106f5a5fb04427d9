import { parse as parseYaml } from 'yaml';
import { configSchema, type Config, type OptionName, type OptionSpec } from './schema.js';
import { AuthctxError } from '../errors.js';

export interface LoadConfigInput {
  /** The process environment (only src/main.ts passes `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the file named by AUTHCTX_CONFIG; injected so tests need no files. */
  readFile?: (path: string) => string;
  /**
   * What the configuration is for. `serve` (default) also requires a way to verify tokens and
   * a usable context source; `migrate` needs only the database, so `npm run migrate` works
   * before anything else is set up.
   */
  purpose?: 'serve' | 'migrate';
}

/** Thrown when the configuration is invalid; `problems` names every bad option at once. */
export class ConfigError extends AuthctxError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('AUTHCTX_ERR_CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

const optionNames = Object.keys(configSchema) as OptionName[];

/**
 * Defaults ← YAML file (AUTHCTX_CONFIG) ← environment. Validates everything, reports
 * every problem in one ConfigError, applies derived defaults, and freezes the result.
 */
export function loadConfig(input: LoadConfigInput): Config {
  const problems: string[] = [];
  const fileValues = readConfigFile(input, problems);
  const values: Record<string, unknown> = {};

  for (const name of optionNames) {
    const spec = configSchema[name] as OptionSpec<unknown>;
    const fromEnv = envValue(input.env, spec);
    const raw = fromEnv ?? fileValues[name];
    if (raw === undefined || raw === '') {
      values[name] = spec.default;
      continue;
    }
    const where = fromEnv !== undefined ? fromEnv.source : `${name} in ${input.env.AUTHCTX_CONFIG}`;
    const result = spec.parse(fromEnv !== undefined ? fromEnv.text : yamlToText(raw));
    if (result.ok) values[name] = result.value;
    else problems.push(`${where}: ${result.problem}`);
  }

  applyDerivedDefaults(values);
  if (input.purpose !== 'migrate') checkCombinations(values as Config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as Config;
}

function envValue(env: LoadConfigInput['env'], spec: OptionSpec<unknown>): { text: string; source: string } | undefined {
  for (const name of [spec.env, ...(spec.envAliases ?? [])]) {
    const text = env[name];
    if (text !== undefined && text !== '') return { text, source: name };
  }
  return undefined;
}

function readConfigFile(input: LoadConfigInput, problems: string[]): Record<string, unknown> {
  const path = input.env.AUTHCTX_CONFIG;
  if (!path) return {};
  let parsed: unknown;
  try {
    const text = (input.readFile ?? missingReader)(path);
    parsed = parseYaml(text);
  } catch (error) {
    problems.push(`AUTHCTX_CONFIG: cannot read ${path}: ${(error as Error).message}`);
    return {};
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`AUTHCTX_CONFIG: ${path} must be a YAML mapping of option: value`);
    return {};
  }
  const known = new Set<string>(optionNames);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) problems.push(`${key} in ${path}: unknown option${suggest(key)}`);
  }
  return parsed as Record<string, unknown>;
}

function missingReader(): string {
  throw new Error('no file reader given');
}

function yamlToText(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(';');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[_-]/g, '');
  const hit = optionNames.find((n) => n.toLowerCase() === lower || configSchema[n].env.toLowerCase().replace(/_/g, '') === lower);
  return hit ? ` (did you mean "${hit}"?)` : '';
}

function applyDerivedDefaults(values: Record<string, unknown>): void {
  const supabaseUrl = values.supabaseUrl as string | undefined;
  if (supabaseUrl) {
    values.jwksUrl ??= `${supabaseUrl}/auth/v1/.well-known/jwks.json`;
    values.jwtIssuer ??= `${supabaseUrl}/auth/v1`;
  }
}

function checkCombinations(config: Config, problems: string[]): void {
  if (!config.jwtSecret && !config.jwksUrl) {
    problems.push('no way to verify tokens: set AUTHCTX_JWT_SECRET (HS256) and/or SUPABASE_URL or AUTHCTX_JWKS_URL (JWKS)');
  }
  if (config.source === 'supabase' && (!config.supabaseUrl || !config.supabaseServiceRoleKey)) {
    problems.push('AUTHCTX_SOURCE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or set AUTHCTX_SOURCE=postgres with AUTHCTX_DATABASE_URL)');
  }
  if (config.source === 'postgres' && !config.databaseUrl) {
    problems.push('AUTHCTX_SOURCE=postgres needs AUTHCTX_DATABASE_URL');
  }
  if (config.zonesSource === 'file' && !config.zonesFile) {
    problems.push('AUTHCTX_ZONES_SOURCE=file needs AUTHCTX_ZONES_FILE');
  }
  if (config.zonesSource === 'bigquery' && !config.bigqueryQuery && !config.bigqueryDataset) {
    problems.push('AUTHCTX_ZONES_SOURCE=bigquery needs AUTHCTX_BIGQUERY_DATASET or AUTHCTX_BIGQUERY_QUERY');
  }
  // An option that failed to parse is absent here: its own problem is already listed.
  const { listen, adminListen } = config as Partial<Config>;
  if (listen && adminListen && listen.port !== 0 && listen.port === adminListen.port && listen.host === adminListen.host) {
    problems.push('AUTHCTX_LISTEN and AUTHCTX_ADMIN_LISTEN must differ: admin paths are never served on the proxy port');
  }
}
