/**
 * A fingerprint of the whole database: for every table, its row count and an md5 over its rows. Two equal
 * fingerprints mean nothing was written in between; tests take one before and after a refused request.
 */
import type { Sql } from 'postgres';

/** Columns that reading requests update on purpose (a device's last sighting), left out of the fingerprint. */
const VOLATILE_COLUMNS = ['last_seen_ts'];

export type DbFingerprint = Record<string, { rows: number; md5: string }>;

export async function dbFingerprint(sql: Sql): Promise<DbFingerprint> {
  const tables = await sql<{ name: string }[]>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'pgmigrations' ORDER BY table_name`;
  const drop = VOLATILE_COLUMNS.map((c) => ` - '${c}'`).join('');
  const parts = tables.map(
    ({ name }) => sql`SELECT ${name}::text AS name, count(*)::int AS rows,
      md5(coalesce(string_agg((to_jsonb(t)${sql.unsafe(drop)})::text, '|' ORDER BY (to_jsonb(t)${sql.unsafe(drop)})::text), '')) AS md5
      FROM ${sql(name)} t`,
  );
  const out: DbFingerprint = {};
  for (const rows of await Promise.all(parts)) {
    const [r] = rows as unknown as { name: string; rows: number; md5: string }[];
    out[r.name] = { rows: r.rows, md5: r.md5 };
  }
  return out;
}

/** The tables whose fingerprint differs between two snapshots. */
export function changedTables(before: DbFingerprint, after: DbFingerprint): string[] {
  return Object.keys({ ...before, ...after }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}
