/**
 * Stored sync filters: stored as sent, read back by id. A stored filter never changes (ids come from one sequence,
 * are never reused, and filters are never updated or deleted), so each process keeps the recently read ones
 * (Hs.filters): a /sync with a filter id does not read the database for it.
 */
import { forbidden, notFound } from '../errors.js';
import type { Hs } from '../hs.js';
import { insertFilter, selectFilter } from '../db/filters.js';
import { deepFreeze } from '../lib/deep-freeze.js';
import type { Filter } from './filters.js';

/** Filter ids are decimal numbers from one sequence; anything else names no filter. */
const FILTER_ID = /^[0-9]{1,19}$/;

export async function defineFilter(hs: Hs, requesterId: string, userId: string, filter: Filter): Promise<string> {
  if (requesterId !== userId) throw forbidden('You can only create filters for yourself.');
  return insertFilter(hs.sql, userId, filter);
}

export async function getFilter(hs: Hs, requesterId: string, userId: string, filterId: string): Promise<Filter> {
  if (requesterId !== userId) throw forbidden('You can only read your own filters.');
  if (!FILTER_ID.test(filterId)) throw notFound('No filter with that id.');
  // A filter id has no '/', so the key is unambiguous. Misses are not cached: the filter may be stored later.
  const key = `${filterId}/${userId}`;
  let filter = hs.filters.get(key);
  if (!filter) {
    const stored = await selectFilter(hs.sql, userId, filterId);
    if (!stored) throw notFound('No filter with that id.');
    filter = deepFreeze(stored as Filter);
    hs.filters.set(key, filter);
  }
  // Shared by every caller, so frozen: reading it costs no copy, and a caller cannot change the cached one.
  return filter;
}
