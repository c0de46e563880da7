/**
 * Stored sync filters: ids are allocated from one sequence and belong to one user. Uploading a filter the user
 * already has returns its id, so clients that upload at every start do not grow the table.
 */
import type { Db } from './database.js';

export async function insertFilter(db: Db, userId: string, definition: unknown): Promise<string> {
  const json = JSON.stringify(definition);
  const [existing] = await db<{ filterId: string }[]>`
    SELECT filter_id FROM filters WHERE user_id = ${userId} AND definition = ${json}::text::jsonb ORDER BY filter_id LIMIT 1`;
  if (existing) return existing.filterId;
  const [row] = await db<{ filterId: string }[]>`
    INSERT INTO filters (user_id, filter_id, definition)
    VALUES (${userId}, nextval('filter_ids')::text, ${json}::text::jsonb) RETURNING filter_id`;
  return row.filterId;
}

export async function selectFilter(db: Db, userId: string, filterId: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await db<{ definition: Record<string, unknown> }[]>`
    SELECT definition FROM filters WHERE user_id = ${userId} AND filter_id = ${filterId}`;
  return row?.definition;
}
