import { formatDurationMs } from './duration.js';
import { durationType, redactUrl } from './option-types.js';
import { configSchema, type Config, type OptionName } from './schema.js';

/** The effective configuration as env-named lines, secrets redacted (for `authctx check-config`). */
export function describeConfig(config: Config): Array<{ name: OptionName; env: string; value: string }> {
  return (Object.keys(configSchema) as OptionName[]).map((name) => {
    const spec = configSchema[name];
    const value = config[name];
    let text: string;
    if (value === undefined) text = '(unset)';
    else if ('secret' in spec && spec.secret === 'value') text = '<redacted>';
    else if ('secret' in spec && spec.secret === 'url') text = redactUrl(String(value));
    else text = formatValue(value, spec.parse === durationType);
    return { name, env: spec.env, value: text };
  });
}

function formatValue(value: unknown, isDuration: boolean): string {
  if (typeof value === 'number' && isDuration) return formatDurationMs(value);
  if (typeof value === 'object' && value !== null && 'host' in value && 'port' in value) {
    const { host, port } = value as { host: string; port: number };
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  if (Array.isArray(value)) {
    return value.map((r: { method?: string; path: string; prefix: boolean }) => `${r.method ? `${r.method} ` : ''}${r.path}${r.prefix ? '*' : ''}`).join(', ');
  }
  return String(value);
}
