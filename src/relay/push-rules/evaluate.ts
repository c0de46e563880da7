/**
 * Push rule evaluation (spec "Push Rules": kinds in priority order, the first enabled rule that matches decides the
 * actions). Pure: the caller gives the event as clients see it and the room facts the conditions need. The server
 * sees only what is in the clear: conditions on the type, sender, room and state key, member count and sender
 * permission work on every event; conditions on content fields match only plaintext content (an encrypted event's
 * content is its Megolm envelope, so `.m.rule.encrypted` and `.m.rule.encrypted_room_one_to_one` decide for it).
 */
import { globMatches } from '../../lib/glob.js';
import type { Ruleset } from './rules.js';
import { KINDS, type Action, type Condition, type PushRule } from './defaults.js';

/** The room facts conditions need, as of the event. */
export interface EvaluationContext {
  /** The user whose rules these are. */
  userId: string;
  /** Joined members (room_member_count). */
  memberCount: number;
  /** The sender's power level (sender_notification_permission). */
  senderPowerLevel: number;
  /** The level a notification key needs (power_levels.notifications[key], default 50). */
  notificationLevel: (key: string) => number;
}

export interface Outcome {
  notify: boolean;
  highlight: boolean;
  actions: Action[];
}

/** Longest text a pattern with `?` is matched against (that matcher is O(pattern x text)). */
const MAX_WILDCARD_TEXT = 4096;

/** Splits a dotted key at unescaped dots (spec: `\.` is a literal dot, `\\` a backslash). */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      current += key[i + 1];
      i++;
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** The value at a dotted key of the event, or undefined. */
export function valueAt(event: Record<string, unknown>, key: string): unknown {
  let v: unknown = event;
  for (const part of splitKey(key)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** Glob with `*` (any run) and `?` (one character), case-insensitive, over the whole text; never backtracks exponentially. */
export function pushGlobMatches(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  if (!p.includes('?')) return globMatches(p, t);
  if (t.length > MAX_WILDCARD_TEXT) return false;
  // Two pointers, remembering the last star: O(pattern x text) at worst.
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));

/** room_member_count's `is`: an integer, optionally prefixed by ==, <, >, >= or <=. */
function memberCountMatches(is: unknown, count: number): boolean {
  if (typeof is !== 'string') return false;
  let op = '==';
  let rest = is;
  for (const prefix of ['==', '<=', '>=', '<', '>']) {
    if (is.startsWith(prefix)) {
      op = prefix;
      rest = is.slice(prefix.length);
      break;
    }
  }
  if (rest === '' || ![...rest].every((c) => c >= '0' && c <= '9')) return false;
  const n = Number(rest);
  switch (op) {
    case '<': return count < n;
    case '>': return count > n;
    case '<=': return count <= n;
    case '>=': return count >= n;
    default: return count === n;
  }
}

export function conditionMatches(c: Condition, event: Record<string, unknown>, ctx: EvaluationContext): boolean {
  switch (c.kind) {
    case 'event_match': {
      if (typeof c.key !== 'string' || typeof c.pattern !== 'string') return false;
      const v = valueAt(event, c.key);
      return typeof v === 'string' && pushGlobMatches(c.pattern, v);
    }
    case 'event_property_is':
      return typeof c.key === 'string' && isScalar(c.value) && valueAt(event, c.key) === c.value;
    case 'event_property_contains': {
      if (typeof c.key !== 'string' || !isScalar(c.value)) return false;
      const v = valueAt(event, c.key);
      return Array.isArray(v) && v.some((x) => x === c.value);
    }
    case 'room_member_count':
      return memberCountMatches(c.is, ctx.memberCount);
    case 'sender_notification_permission':
      return typeof c.key === 'string' && ctx.senderPowerLevel >= ctx.notificationLevel(c.key);
    default:
      // contains_display_name needs the body (ciphertext here); unknown kinds MUST NOT match (spec).
      return false;
  }
}

function ruleMatches(kind: (typeof KINDS)[number], rule: PushRule, event: Record<string, unknown>, ctx: EvaluationContext): boolean {
  switch (kind) {
    case 'override':
    case 'underride':
      return (rule.conditions ?? []).every((c) => conditionMatches(c, event, ctx));
    case 'content': {
      // The body is only ever readable on a plaintext message (ALLOW_PLAINTEXT_MESSAGES); matched as a glob anywhere in it.
      const body = valueAt(event, 'content.body');
      return typeof rule.pattern === 'string' && typeof body === 'string' && pushGlobMatches(`*${rule.pattern}*`, body);
    }
    case 'room':
      return rule.rule_id === event.room_id;
    case 'sender':
      return rule.rule_id === event.sender;
  }
}

/** The outcome of the first enabled rule that matches, in kind order; undefined when none does. */
export function evaluate(ruleset: Ruleset, event: Record<string, unknown>, ctx: EvaluationContext): Outcome | undefined {
  for (const kind of KINDS) {
    for (const rule of ruleset[kind]) {
      if (!rule.enabled || !ruleMatches(kind, rule, event, ctx)) continue;
      return outcomeOf(rule.actions);
    }
  }
  return undefined;
}

export function outcomeOf(actions: Action[]): Outcome {
  const notify = actions.includes('notify');
  const highlight = actions.some((a) => typeof a === 'object' && a.set_tweak === 'highlight' && a.value !== false);
  return { notify, highlight, actions };
}
