/**
 * The blindness check for tests: the whole database (every row of every table, rendered as text, plus the raw bytes
 * of every bytea value) is searched for plaintext markers. A test that sends "plaintext ... zq<tag>" next to its
 * ciphertext (or erases it) ends with expectNoPlaintextInDatabase: the marker must be nowhere the server keeps data.
 */
import { expect } from '@jest/globals';
import type { Db } from '../../src/db/database.js';

export interface DatabaseScan {
  /** Where a needle was found, as `table: needle`. */
  found: string[];
  tables: number;
  rows: number;
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Searches every row of every base table of the database's public schema for each needle. A row is rendered with
 * PostgreSQL's own text form of the record (all columns, jsonb included); bytea columns are searched as bytes too.
 * Needles may not hold `"` or `\` (the record's text form escapes them).
 */
export async function scanDatabase(sql: Db, needles: string[]): Promise<DatabaseScan> {
  for (const n of needles) if (n.length === 0 || /["\\]/.test(n)) throw new Error(`scanDatabase: unusable needle ${JSON.stringify(n)}`);
  const tables = await sql<{ tableName: string }[]>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`;
  const byteaColumns = await sql<{ tableName: string; columnName: string }[]>`
    SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'bytea'`;
  const found: string[] = [];
  let rows = 0;
  for (const { tableName } of tables) {
    const table = quoteIdent(tableName);
    const bytesOf = byteaColumns.filter((c) => c.tableName === tableName).map((c) => `OR position(convert_to(n, 'UTF8') in r.${quoteIdent(c.columnName)}) > 0`);
    const hits = await sql.unsafe<{ needle: string }[]>(
      `SELECT n AS needle FROM unnest($1::text[]) AS n WHERE EXISTS (SELECT 1 FROM ${table} r WHERE position(n in r::text) > 0 ${bytesOf.join(' ')})`,
      [needles as never],
    );
    for (const h of hits) found.push(`${tableName}: ${h.needle}`);
    const [{ count }] = await sql.unsafe<{ count: number }[]>(`SELECT count(*)::int AS count FROM ${table}`);
    rows += count;
  }
  return { found, tables: tables.length, rows };
}

/**
 * Fails the test if any needle is stored anywhere. `control`, when given, is a text the test knows the database
 * holds (e.g. a room name, which is state): finding it proves the scan sees what is there.
 */
export async function expectNoPlaintextInDatabase(sql: Db, needles: string[], control?: string): Promise<DatabaseScan> {
  expect(needles.length).toBeGreaterThan(0);
  const scan = await scanDatabase(sql, control !== undefined ? [...needles, control] : needles);
  expect(scan.tables).toBeGreaterThan(10);
  expect(scan.rows).toBeGreaterThan(0);
  const isControl = (f: string) => control !== undefined && f.endsWith(`: ${control}`);
  if (control !== undefined) expect(scan.found.some(isControl)).toBe(true);
  expect(scan.found.filter((f) => !isControl(f))).toEqual([]);
  return scan;
}
