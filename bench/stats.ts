/**
 * Small statistics and printing helpers for the bench: percentiles over latency samples, and a plain text
 * table with right-aligned columns.
 */

export interface Summary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentiles; null when there are no samples. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const s = Float64Array.from(samples).sort();
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { count: s.length, p50: round(rank(50)), p99: round(rank(99)), max: round(s[s.length - 1]) };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const mb = (bytes: number | undefined) => (bytes === undefined ? null : round(bytes / (1024 * 1024)));

const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? String(v) : String(v));

/** Renders rows (arrays of cells) under a header, each column right-aligned to its widest cell. */
export function table(header: string[], rows: unknown[][]): string {
  const text = [header, ...rows.map((r) => r.map(cell))];
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padStart(widths[i])).join('  ');
  return [line(text[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...text.slice(1).map(line)].join('\n');
}
