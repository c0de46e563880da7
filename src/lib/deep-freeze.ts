/**
 * Cached values handed to many callers at once (room state, stored filters) are frozen whole: a caller that tried to
 * change one would throw instead of changing what every other caller sees.
 */

/** Freezes a JSON-like value and everything in it (already frozen parts are skipped). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
