/**
 * JSON we may store as sent: PostgreSQL cannot hold a NUL character in jsonb or text, and very deep nesting
 * exhausts stacks. The edge applies this to every request body, so no handler sees such JSON.
 */
import { badJson } from '../errors.js';

export const MAX_JSON_DEPTH = 100;

/** Throws M_BAD_JSON when `value` (at `what`) has a NUL in a string or key, or nests deeper than MAX_JSON_DEPTH. */
export function checkStorableJson(value: unknown, what: string): void {
  // Iterative, so that the check itself cannot overflow the stack on hostile nesting.
  const pending: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (pending.length > 0) {
    const { v, depth } = pending.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw badJson(`${what} must not contain NUL characters.`);
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) throw badJson(`${what} is nested more than ${MAX_JSON_DEPTH} levels deep.`);
      if (Array.isArray(v)) {
        for (const item of v) pending.push({ v: item, depth: depth + 1 });
      } else {
        for (const [k, item] of Object.entries(v)) {
          if (k.includes('\u0000')) throw badJson(`${what} must not contain NUL characters.`);
          pending.push({ v: item, depth: depth + 1 });
        }
      }
    }
  }
}
