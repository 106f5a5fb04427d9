/** Parses `250ms`, `30s`, `15m`, `24h` (DESIGN.md "Durations") into milliseconds. */
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = durationPattern.exec(trimmed);
  if (!match) return undefined;
  const value = Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
  return Number.isSafeInteger(Math.round(value)) ? Math.round(value) : undefined;
}

export function formatDurationMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const sizePattern = /^(\d+)(b|kb|mb|gb)?$/i;
const unitBytes = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** Parses `512`, `64kb`, `10mb`, `1gb` (binary units) into bytes. */
export function parseSizeBytes(text: string): number | undefined {
  const match = sizePattern.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2]?.toLowerCase() ?? 'b') as keyof typeof unitBytes;
  const value = Number(match[1]) * unitBytes[unit];
  return Number.isSafeInteger(value) ? value : undefined;
}
