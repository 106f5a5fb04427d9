import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Logger } from 'pino';
import { AuthctxError } from '../errors.js';
import { addZoneObject, createZoneMapBuilder } from './zone-rows.js';
import type { ZoneMap, ZoneSource } from './zone-source.js';

export interface FileZoneSourceOptions {
  /**
   * Path of the zone file. `.json` → `{ "JKT": ["JKT-01", …] }`; `.csv` → a header line
   * `region_code,zone_code` then one row per line. Any other extension: JSON when the first
   * non-blank character is `{`, else CSV.
   */
  path: string;
  /** Largest file accepted, bytes. Default 16 MiB. */
  maxBytes?: number;
  /** Warns about rejected rows. Optional. */
  logger?: Logger;
}

/** A `ZoneSource` reading a small JSON or CSV file: for small deployments and the demo. */
export function createFileZoneSource(options: FileZoneSourceOptions): ZoneSource {
  const { path, logger } = options;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;

  return {
    kind: 'file',
    async load({ signal }): Promise<ZoneMap> {
      let text: string;
      try {
        const info = await stat(path);
        if (info.size > maxBytes) {
          throw new AuthctxError('AUTHCTX_ERR_ZONES_MALFORMED', `zone file ${path} is larger than ${maxBytes} bytes`);
        }
        text = await readFile(path, { encoding: 'utf8', signal });
      } catch (err) {
        if (err instanceof AuthctxError) throw err;
        throw new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', `cannot read zone file ${path}: ${describe(err)}`, {
          cause: err,
        });
      }
      const built = isJson(path, text) ? parseJson(path, text) : parseCsv(path, text);
      if (built.rejected > 0) {
        logger?.warn({ path, rejected: built.rejected, rows: built.rows }, 'zone file: rejected rows with invalid codes');
      }
      if (built.zones.size === 0) {
        throw new AuthctxError('AUTHCTX_ERR_ZONES_MALFORMED', `zone file ${path} holds no valid zones`);
      }
      return built.zones;
    },
    async close() {
      // Nothing held open between loads.
    },
  };
}

function isJson(path: string, text: string): boolean {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return true;
  if (ext === '.csv') return false;
  return text.trimStart().startsWith('{');
}

function parseJson(path: string, text: string): ReturnType<ReturnType<typeof createZoneMapBuilder>['build']> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AuthctxError('AUTHCTX_ERR_ZONES_MALFORMED', `zone file ${path} is not valid JSON: ${describe(err)}`, {
      cause: err,
    });
  }
  const builder = createZoneMapBuilder();
  if (!addZoneObject(builder, value)) {
    throw new AuthctxError(
      'AUTHCTX_ERR_ZONES_MALFORMED',
      `zone file ${path} must be a JSON object of region code → array of zone codes`,
    );
  }
  return builder.build();
}

function parseCsv(path: string, text: string): ReturnType<ReturnType<typeof createZoneMapBuilder>['build']> {
  const records = parseCsvRecords(text.replace(/^\uFEFF/, ''));
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  const regionCol = header.indexOf('region_code');
  const zoneCol = header.indexOf('zone_code');
  if (regionCol < 0 || zoneCol < 0) {
    throw new AuthctxError(
      'AUTHCTX_ERR_ZONES_MALFORMED',
      `zone file ${path}: the first line must be the header region_code,zone_code`,
    );
  }
  const builder = createZoneMapBuilder();
  for (const fields of records.slice(1)) {
    if (fields.length === 1 && fields[0]?.trim() === '') continue; // blank line
    builder.add(fields[regionCol], fields[zoneCol]);
  }
  return builder.build();
}

/**
 * RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks (which then
 * reach the row validator and are rejected there, instead of splitting into a bogus row).
 */
function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i += 1;
      fields.push(field);
      records.push(fields);
      fields = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    records.push(fields);
  }
  return records;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
