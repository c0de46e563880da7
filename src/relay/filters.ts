/**
 * Sync filters (spec: "Filtering"): the shape clients upload, checked once here. The schema is also what /sync uses
 * to accept an inline filter. Storing and reading filters by id: relay/stored-filters.ts.
 */
import { z } from 'zod';
import { Lru } from '../lib/lru.js';
import { roomIdSchema, userIdSchema } from '../lib/identifiers.js';

/**
 * Bounds: a filter is applied to every event a request reads, so its lists are bounded. Event types are at most 255
 * bytes, so a longer pattern matches nothing; 100 type patterns is far more than any client sends.
 */
export const MAX_FILTER_TYPES = 100;
export const MAX_FILTER_IDS = 1000;
const MAX_PATTERN_LENGTH = 255;

const typePatterns = z.array(z.string().max(MAX_PATTERN_LENGTH)).max(MAX_FILTER_TYPES).optional();
const userIds = z.array(userIdSchema).max(MAX_FILTER_IDS).optional();
const roomIds = z.array(roomIdSchema).max(MAX_FILTER_IDS).optional();
const limit = z.number().int().min(0).optional();

export const eventFilterSchema = z.looseObject({ limit, types: typePatterns, not_types: typePatterns, senders: userIds, not_senders: userIds });

export const roomEventFilterSchema = eventFilterSchema.extend({
  rooms: roomIds,
  not_rooms: roomIds,
  contains_url: z.boolean().optional(),
  lazy_load_members: z.boolean().optional(),
  include_redundant_members: z.boolean().optional(),
  unread_thread_notifications: z.boolean().optional(),
});

export const filterSchema = z.looseObject({
  event_fields: z.array(z.string().max(MAX_PATTERN_LENGTH)).max(MAX_FILTER_TYPES).optional(),
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

/** Recently read filters, by user and filter id (Hs.filters; read through relay/stored-filters.ts). */
export type FilterCache = Lru<string, Filter>;

const FILTER_CACHE_SIZE = 1000;

export function createFilterCache(size = FILTER_CACHE_SIZE): FilterCache {
  return new Lru<string, Filter>(size);
}
