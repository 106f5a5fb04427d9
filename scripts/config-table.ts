import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeConfig } from '../src/config/redact.js';
import { configSchema, type Config, type OptionName } from '../src/config/schema.js';

const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';

/** The README's configuration table, generated from the schema so the two cannot drift. */
export function configTableMarkdown(): string {
  const defaults = Object.fromEntries(Object.entries(configSchema).map(([name, spec]) => [name, spec.default])) as unknown as Config;
  const rows = describeConfig(defaults).map(({ name, env, value }) => {
    const spec = configSchema[name as OptionName] as { envAliases?: readonly string[]; doc: string };
    const aliases = spec.envAliases ? ` (or \`${spec.envAliases.join('`, `')}\`)` : '';
    const shown = value === '(unset)' ? 'unset' : `\`${value}\``;
    return `| \`${env}\`${aliases} | \`${name}\` | ${spec.doc.replaceAll('|', '\\|')} | ${shown} |`;
  });
  return ['| env | YAML key | meaning | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** README text with the generated table between the markers. */
export function withConfigTable(readme: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from === -1 || to === -1) throw new Error('README.md has no config-table markers');
  return `${readme.slice(0, from + start.length)}\n${configTableMarkdown()}\n${readme.slice(to)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../../README.md', import.meta.url);
  writeFileSync(path, withConfigTable(readFileSync(path, 'utf8')));
  process.stdout.write('README.md configuration table updated\n');
}
