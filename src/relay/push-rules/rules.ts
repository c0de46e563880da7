/**
 * Push rules of a user: the rendered ruleset (server defaults merged with the user's rules and changes), and every
 * change to it. Each write is one transaction that locks the user's rules first and takes a stream position last.
 */
import { badJson, invalidParam, missingParam, notFound } from '../../errors.js';
import type { Hs } from '../../hs.js';
import { transaction, type Tx } from '../../db/database.js';
import * as db from '../../db/push-rules.js';
import { stampAtNextPositionAndCommit } from '../../db/stream.js';
import { isRoomId, isUserId } from '../../lib/identifiers.js';
import { onAccountData } from '../wakes.js';
import { KINDS, defaultRules, isDefaultRuleId, type Action, type Condition, type DefaultRule, type Kind, type PushRule } from './defaults.js';

export type Ruleset = Record<Kind, PushRule[]>;

export interface RuleContent {
  actions: Action[];
  conditions?: Condition[];
  pattern?: string;
}

const RULE_ID_MAX = 255;
/** Rules a user may add of each kind (a client adding rules in a loop stops here). */
export const MAX_USER_RULES_PER_KIND = 200;
/** Spec "Historical Actions": homeservers MUST ignore dont_notify and coalesce, e.g. by stripping them. */
const HISTORICAL_ACTIONS = new Set(['dont_notify', 'coalesce']);

function checkKind(kind: string): Kind {
  if (!(KINDS as readonly string[]).includes(kind)) throw invalidParam(`Unknown push rule kind '${kind}'; expected one of ${KINDS.join(', ')}.`);
  return kind as Kind;
}

const ruleNotFound = () => notFound('The push rule was not found.');

function normaliseActions(actions: Action[]): Action[] {
  return actions.filter((a) => typeof a !== 'string' || !HISTORICAL_ACTIONS.has(a));
}

function userRule(kind: Kind, row: db.PushRuleRow): PushRule {
  const rule: PushRule = { rule_id: row.ruleId, default: false, enabled: row.enabled, actions: row.actions as Action[] };
  if (kind === 'override' || kind === 'underride') rule.conditions = (row.conditions ?? []) as Condition[];
  if (kind === 'content') rule.pattern = row.pattern ?? '';
  return rule;
}

function renderDefault(d: DefaultRule, change: db.DefaultChangeRow | undefined): PushRule {
  const { kind: _kind, first: _first, ...rule } = d;
  return { ...rule, enabled: change?.enabled ?? rule.enabled, actions: (change?.actions as Action[] | null) ?? rule.actions };
}

/** The ruleset in priority order: within a kind the user's rules come before the defaults, except .m.rule.master. */
export function render(userId: string, rows: db.PushRuleRow[], changes: db.DefaultChangeRow[]): Ruleset {
  const changeOf = new Map(changes.map((c) => [`${c.kind}\u0000${c.ruleId}`, c]));
  const defaults = defaultRules(userId).map((d) => ({ d, rule: renderDefault(d, changeOf.get(`${d.kind}\u0000${d.rule_id}`)) }));
  const ruleset = {} as Ruleset;
  for (const kind of KINDS) {
    const own = rows.filter((r) => r.kind === kind).map((r) => userRule(kind, r));
    const ofKind = defaults.filter(({ d }) => d.kind === kind);
    ruleset[kind] = [...ofKind.filter(({ d }) => d.first).map(({ rule }) => rule), ...own, ...ofKind.filter(({ d }) => !d.first).map(({ rule }) => rule)];
  }
  return ruleset;
}

/** The user's whole ruleset: the body of GET /pushrules/global/ and the content of m.push_rules under `global`. */
export async function getPushRuleset(hs: Hs, userId: string): Promise<Ruleset> {
  const [rows, changes] = await Promise.all([db.selectPushRules(hs.sql, userId), db.selectDefaultChanges(hs.sql, userId)]);
  return render(userId, rows, changes);
}

/** The rules of one kind, in priority order (GET /pushrules/global/{kind}/). */
export async function getPushRulesOfKind(hs: Hs, userId: string, kindName: string): Promise<PushRule[]> {
  const kind = checkKind(kindName);
  return (await getPushRuleset(hs, userId))[kind];
}

export async function getPushRule(hs: Hs, userId: string, kindName: string, ruleId: string): Promise<PushRule> {
  const kind = checkKind(kindName);
  const rule = (await getPushRuleset(hs, userId))[kind].find((r) => r.rule_id === ruleId);
  if (!rule) throw ruleNotFound();
  return rule;
}

function defaultRule(userId: string, kind: Kind, ruleId: string): DefaultRule | undefined {
  return defaultRules(userId).find((d) => d.kind === kind && d.rule_id === ruleId);
}

/** One write: lock the user's rules, change them, then stamp them with a stream position taken last. */
async function write(hs: Hs, userId: string, change: (tx: Tx) => Promise<void>): Promise<void> {
  await transaction(hs.sql, async (tx) => {
    await db.lockPushRules(tx, userId);
    await change(tx);
    await stampAtNextPositionAndCommit(tx, [(pos) => db.updatePushRulesStream(tx, userId, pos)]);
  });
  onAccountData(hs.notifier, userId);
}

function checkNewRuleId(kind: Kind, ruleId: string): void {
  if (isDefaultRuleId(ruleId)) throw invalidParam("Rule ids starting with '.' are reserved for server-default rules.");
  if (ruleId.length === 0 || ruleId.length > RULE_ID_MAX) throw invalidParam(`A rule id is 1 to ${RULE_ID_MAX} characters.`);
  if (/[/\\]/.test(ruleId)) throw invalidParam('A rule id may not contain slashes or backslashes.');
  // Spec: the rule_id of a room rule is the room's id, of a sender rule the sender's user id.
  if (kind === 'room' && !isRoomId(ruleId)) throw invalidParam('The rule id of a room rule must be a room id.');
  if (kind === 'sender' && !isUserId(ruleId)) throw invalidParam('The rule id of a sender rule must be a user id.');
}

function checkRelative(name: 'before' | 'after', relative: string | undefined, ruleId: string): void {
  if (relative === undefined) return;
  if (isDefaultRuleId(relative)) throw invalidParam(`'${name}' cannot name a server-default rule.`);
  if (relative === ruleId) throw invalidParam(`'${name}' cannot name the rule itself.`);
}

/**
 * Creates or replaces a user rule. Placement: right before `before` (which wins when both are given), right after
 * `after`, else an existing rule keeps its place and a new one becomes the most important user rule of its kind.
 */
export async function setPushRule(
  hs: Hs,
  userId: string,
  kindName: string,
  ruleId: string,
  content: RuleContent,
  place: { before?: string; after?: string },
): Promise<void> {
  const kind = checkKind(kindName);
  checkNewRuleId(kind, ruleId);
  if (kind === 'content' && content.pattern === undefined) throw missingParam("Content rules need a 'pattern'.");
  checkRelative('before', place.before, ruleId);
  checkRelative('after', place.after, ruleId);
  const actions = normaliseActions(content.actions);
  const conditions = kind === 'override' || kind === 'underride' ? (content.conditions ?? []) : null;
  const pattern = kind === 'content' ? (content.pattern ?? null) : null;
  await write(hs, userId, async (tx) => {
    const rows = await db.selectPushRulesOfKind(tx, userId, kind);
    const existing = rows.findIndex((r) => r.ruleId === ruleId);
    if (existing < 0 && rows.length >= MAX_USER_RULES_PER_KIND) throw badJson(`At most ${MAX_USER_RULES_PER_KIND} ${kind} rules of your own; delete one first.`);
    const order = rows.map((r) => r.ruleId).filter((id) => id !== ruleId);
    const indexOf = (relative: string) => {
      const i = order.indexOf(relative);
      if (i < 0) throw notFound(`before/after rule not found: ${relative}`);
      return i;
    };
    let index: number;
    if (place.before !== undefined) index = indexOf(place.before);
    else if (place.after !== undefined) index = indexOf(place.after) + 1;
    else index = existing >= 0 ? existing : 0;
    order.splice(index, 0, ruleId);
    await db.upsertPushRule(tx, { userId, kind, ruleId, position: index, actions, conditions, pattern });
    await db.updatePushRuleOrder(tx, userId, kind, order);
  });
}

/** Deletes a user rule; server-default rules cannot be deleted (they can be disabled). */
export async function deletePushRule(hs: Hs, userId: string, kindName: string, ruleId: string): Promise<void> {
  const kind = checkKind(kindName);
  if (isDefaultRuleId(ruleId)) {
    if (defaultRule(userId, kind, ruleId)) throw invalidParam('Server-default rules cannot be deleted; disable them instead.');
    throw ruleNotFound();
  }
  await write(hs, userId, async (tx) => {
    if (!(await db.deletePushRule(tx, userId, kind, ruleId))) throw ruleNotFound();
  });
}

export async function getPushRuleEnabled(hs: Hs, userId: string, kind: string, ruleId: string): Promise<boolean> {
  return (await getPushRule(hs, userId, kind, ruleId)).enabled;
}

export async function getPushRuleActions(hs: Hs, userId: string, kind: string, ruleId: string): Promise<Action[]> {
  return (await getPushRule(hs, userId, kind, ruleId)).actions;
}

/** Changes a field of a rule: of a default rule, as the user's change to it; of a user rule, in place. */
async function changeRule(
  hs: Hs,
  userId: string,
  kindName: string,
  ruleId: string,
  ofDefault: (tx: Tx, kind: Kind) => Promise<void>,
  ofUser: (tx: Tx, kind: Kind) => Promise<boolean>,
): Promise<void> {
  const kind = checkKind(kindName);
  if (isDefaultRuleId(ruleId)) {
    if (!defaultRule(userId, kind, ruleId)) throw ruleNotFound();
    await write(hs, userId, (tx) => ofDefault(tx, kind));
    return;
  }
  await write(hs, userId, async (tx) => {
    if (!(await ofUser(tx, kind))) throw ruleNotFound();
  });
}

export async function setPushRuleEnabled(hs: Hs, userId: string, kind: string, ruleId: string, enabled: boolean): Promise<void> {
  await changeRule(
    hs,
    userId,
    kind,
    ruleId,
    (tx, k) => db.upsertDefaultEnabled(tx, userId, k, ruleId, enabled),
    (tx, k) => db.updatePushRuleEnabled(tx, userId, k, ruleId, enabled),
  );
}

export async function setPushRuleActions(hs: Hs, userId: string, kind: string, ruleId: string, actions: Action[]): Promise<void> {
  const normalised = normaliseActions(actions);
  await changeRule(
    hs,
    userId,
    kind,
    ruleId,
    (tx, k) => db.upsertDefaultActions(tx, userId, k, ruleId, normalised),
    (tx, k) => db.updatePushRuleActions(tx, userId, k, ruleId, normalised),
  );
}
