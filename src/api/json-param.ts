/** Query parameters that carry JSON (the `filter` of /sync, /messages, /context): parsed and validated like bodies. */
import type { z } from 'zod';
import { invalidParam } from '../errors.js';
import { roomEventFilterSchema } from '../relay/filters.js';
import { parseClientJson } from './input-gate.js';
import { parseInput } from './route.js';

export function parseJsonParam<T>(schema: z.ZodType<T>, raw: string, name: string): T {
  const json = parseClientJson(
    raw,
    () => invalidParam(`${name} must be JSON.`),
    (reason) => invalidParam(`${name} ${reason}.`),
  );
  return parseInput(schema, json, 'query');
}

/** The `filter` of /messages and /context: a RoomEventFilter as JSON. */
export function parseRoomEventFilterParam(raw: string | undefined) {
  return raw === undefined ? undefined : parseJsonParam(roomEventFilterSchema, raw, 'filter');
}
