/**
 * Sync filters (spec: "Filtering"): the shape clients upload, checked once here, stored as sent, and read back
 * by id. The schema is also what /sync uses to accept an inline filter. A stored filter never changes (ids come
 * from one sequence, are never reused, and filters are never updated or deleted), so each process keeps the
 * recently read ones (Hs.filters): a /sync with a filter id does not read the database for it.
 */
import { z } from 'zod';
import { forbidden, notFound } from '../errors.js';
import type { Hs } from '../hs.js';
import { insertFilter, selectFilter } from '../db/filters.js';
import { Lru } from './lru.js';
import { deepFreeze } from './deep-freeze.js';

const strings = z.array(z.string()).optional();
const userIds = z.array(z.string().regex(/^@/, 'must be a user id (@...)')).optional();
const roomIds = z.array(z.string().regex(/^!/, 'must be a room id (!...)')).optional();
const limit = z.number().int().min(0).optional();

export const eventFilterSchema = z.looseObject({ limit, types: strings, not_types: strings, senders: userIds, not_senders: userIds });

export const roomEventFilterSchema = eventFilterSchema.extend({
  rooms: roomIds,
  not_rooms: roomIds,
  contains_url: z.boolean().optional(),
  lazy_load_members: z.boolean().optional(),
  include_redundant_members: z.boolean().optional(),
  unread_thread_notifications: z.boolean().optional(),
});

export const filterSchema = z.looseObject({
  event_fields: strings,
  event_format: z.enum(['client', 'federation']).optional(),
  presence: eventFilterSchema.optional(),
  account_data: eventFilterSchema.optional(),
  room: z
    .looseObject({
      rooms: roomIds,
      not_rooms: roomIds,
      include_leave: z.boolean().optional(),
      timeline: roomEventFilterSchema.optional(),
      state: roomEventFilterSchema.optional(),
      ephemeral: roomEventFilterSchema.optional(),
      account_data: roomEventFilterSchema.optional(),
    })
    .optional(),
});

export type Filter = z.infer<typeof filterSchema>;

/**
 * An uploaded filter: checked against filterSchema, but the value is the input itself, so it is stored exactly as
 * sent (zod's copy would drop keys named __proto__).
 */
export const uploadedFilterSchema = z.custom<Filter>().superRefine((value, ctx) => {
  const result = filterSchema.safeParse(value);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
});

/** Filter ids are decimal numbers from one sequence; anything else names no filter. */
const FILTER_ID = /^[0-9]{1,19}$/;

export async function defineFilter(hs: Hs, requesterId: string, userId: string, filter: Filter): Promise<string> {
  if (requesterId !== userId) throw forbidden('You can only create filters for yourself.');
  return insertFilter(hs.sql, userId, filter);
}

/** Recently read filters, by user and filter id. */
export type FilterCache = Lru<string, Filter>;

const FILTER_CACHE_SIZE = 1000;

export function createFilterCache(size = FILTER_CACHE_SIZE): FilterCache {
  return new Lru<string, Filter>(size);
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
