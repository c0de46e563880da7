/**
 * required_state (MSC4186, unstable shape: [type, state_key] pairs): which state events of a room to send. `*` as
 * the type or the state key matches any; `$ME` stands for the requesting user; `["m.room.member", "$LAZY"]` loads
 * members lazily (the senders of the timeline, never all members unless another entry asks for them); with
 * `["*", "*"]` every state event is sent, members too unless `$LAZY` is given. Room configs that match one room are
 * combined into their superset (union of entries, largest timeline limit).
 */
import type { RoomConfig, StatePair } from './types.js';

export const MEMBER = 'm.room.member';
export const LAZY = '$LAZY';
export const ME = '$ME';
const ANY = '*';
/** The timeline limit a room config may ask for at most. */
export const MAX_TIMELINE_LIMIT = 100;

const pairKey = ([t, k]: StatePair) => `${t}\u0000${k}`;

/** The superset of several room configs (sorted, without duplicates, so that equal configs compare equal). */
export function combineConfigs(configs: RoomConfig[]): RoomConfig {
  const pairs = new Map<string, StatePair>();
  for (const c of configs) for (const p of c.requiredState) pairs.set(pairKey(p), [p[0], p[1]]);
  return {
    requiredState: [...pairs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p),
    timelineLimit: Math.min(MAX_TIMELINE_LIMIT, Math.max(0, ...configs.map((c) => c.timelineLimit))),
  };
}

export interface StateMatcher {
  /** Whether the config asks for this state event (members chosen lazily aside). */
  matches(type: string, stateKey: string): boolean;
  /** Members are loaded lazily (timeline senders). */
  lazy: boolean;
  /** Every member event is asked for. */
  allMembers: boolean;
  /** Every state event is asked for (members too unless lazy). */
  everything: boolean;
  /** Member state keys asked for by name. */
  memberKeys: Set<string>;
  /** Whether any state at all is asked for. */
  any: boolean;
}

export function stateMatcher(pairs: StatePair[], userId: string): StateMatcher {
  const resolve = (k: string) => (k === ME ? userId : k);
  const byType = new Map<string, Set<string>>();
  const anyTypeKeys = new Set<string>();
  let everything = false;
  let lazy = false;
  for (const [type, rawKey] of pairs) {
    if (type === MEMBER && rawKey === LAZY) {
      lazy = true;
      continue;
    }
    const key = resolve(rawKey);
    if (type === ANY && key === ANY) everything = true;
    else if (type === ANY) anyTypeKeys.add(key);
    else {
      let keys = byType.get(type);
      if (!keys) byType.set(type, (keys = new Set()));
      keys.add(key);
    }
  }
  const memberSet = byType.get(MEMBER) ?? new Set<string>();
  const allMembers = memberSet.has(ANY) || (everything && !lazy);
  const matches = (type: string, stateKey: string): boolean => {
    if (type === MEMBER) return allMembers || memberSet.has(stateKey) || anyTypeKeys.has(stateKey);
    if (everything) return true;
    const keys = byType.get(type);
    return (keys !== undefined && (keys.has(ANY) || keys.has(stateKey))) || anyTypeKeys.has(stateKey);
  };
  return {
    matches,
    lazy,
    allMembers,
    everything,
    memberKeys: new Set([...memberSet, ...anyTypeKeys].filter((k) => k !== ANY)),
    any: everything || lazy || byType.size > 0 || anyTypeKeys.size > 0,
  };
}

/** Entries of `next` that `previous` did not have: the room's required_state was expanded. */
export function addedPairs(previous: StatePair[], next: StatePair[]): StatePair[] {
  const had = new Set(previous.map(pairKey));
  return next.filter((p) => !had.has(pairKey(p)));
}
