import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withConfigTable } from '../../scripts/config-table.js';

describe('README configuration table', () => {
  it('lists every option of the schema with its current default (regenerate: node dist/scripts/config-table.js)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toBe(withConfigTable(readme));
  });
});
