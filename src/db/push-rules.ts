/**
 * Push rules: a user's own rules (ordered by position within their kind), the user's changes to server-default
 * rules, and the per-user stream stamp. Writers lock the user's stamp row first, so one user's writes run in turn.
 */
import type { Db, Tx } from './database.js';
import type { PositionSql } from './stream.js';

export interface PushRuleRow {
  userId: string;
  kind: string;
  ruleId: string;
  position: number;
  enabled: boolean;
  actions: unknown[];
  conditions: unknown[] | null;
  pattern: string | null;
}

export interface DefaultChangeRow {
  kind: string;
  ruleId: string;
  enabled: boolean | null;
  actions: unknown[] | null;
}

/** The user's own rules, every kind, each kind in order. */
export async function selectPushRules(db: Db, userId: string): Promise<PushRuleRow[]> {
  return db<PushRuleRow[]>`SELECT * FROM push_rules WHERE user_id = ${userId} ORDER BY kind, position, rule_id`;
}

export async function selectPushRulesOfKind(db: Db, userId: string, kind: string): Promise<PushRuleRow[]> {
  return db<PushRuleRow[]>`SELECT * FROM push_rules WHERE user_id = ${userId} AND kind = ${kind} ORDER BY position, rule_id`;
}

/** Inserts or replaces a rule's content (actions, conditions, pattern); a new rule is enabled, an existing keeps its flag. */
export async function upsertPushRule(
  db: Db,
  r: { userId: string; kind: string; ruleId: string; position: number; actions: unknown[]; conditions: unknown[] | null; pattern: string | null },
): Promise<void> {
  await db`
    INSERT INTO push_rules (user_id, kind, rule_id, position, enabled, actions, conditions, pattern)
    VALUES (${r.userId}, ${r.kind}, ${r.ruleId}, ${r.position}, true, ${db.json(r.actions as never)},
            ${r.conditions === null ? null : db.json(r.conditions as never)}, ${r.pattern})
    ON CONFLICT (user_id, kind, rule_id) DO UPDATE
      SET position = EXCLUDED.position, actions = EXCLUDED.actions, conditions = EXCLUDED.conditions, pattern = EXCLUDED.pattern`;
}

/** Sets the positions of a kind's rules to their index in ruleIds. */
export async function updatePushRuleOrder(db: Db, userId: string, kind: string, ruleIds: string[]): Promise<void> {
  if (ruleIds.length === 0) return;
  const positions = ruleIds.map((_, i) => i);
  await db`
    UPDATE push_rules p SET position = o.position
    FROM unnest(${ruleIds}::text[], ${positions}::int[]) AS o(rule_id, position)
    WHERE p.user_id = ${userId} AND p.kind = ${kind} AND p.rule_id = o.rule_id`;
}

/** Deletes a rule; false when there was none. */
export async function deletePushRule(db: Db, userId: string, kind: string, ruleId: string): Promise<boolean> {
  const rows = await db`DELETE FROM push_rules WHERE user_id = ${userId} AND kind = ${kind} AND rule_id = ${ruleId} RETURNING 1`;
  return rows.length === 1;
}

export async function updatePushRuleEnabled(db: Db, userId: string, kind: string, ruleId: string, enabled: boolean): Promise<boolean> {
  const rows = await db`UPDATE push_rules SET enabled = ${enabled} WHERE user_id = ${userId} AND kind = ${kind} AND rule_id = ${ruleId} RETURNING 1`;
  return rows.length === 1;
}

export async function updatePushRuleActions(db: Db, userId: string, kind: string, ruleId: string, actions: unknown[]): Promise<boolean> {
  const rows = await db`
    UPDATE push_rules SET actions = ${db.json(actions as never)} WHERE user_id = ${userId} AND kind = ${kind} AND rule_id = ${ruleId} RETURNING 1`;
  return rows.length === 1;
}

export async function selectDefaultChanges(db: Db, userId: string): Promise<DefaultChangeRow[]> {
  return db<DefaultChangeRow[]>`SELECT kind, rule_id, enabled, actions FROM push_rule_defaults WHERE user_id = ${userId}`;
}

export async function upsertDefaultEnabled(db: Db, userId: string, kind: string, ruleId: string, enabled: boolean): Promise<void> {
  await db`
    INSERT INTO push_rule_defaults (user_id, kind, rule_id, enabled) VALUES (${userId}, ${kind}, ${ruleId}, ${enabled})
    ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET enabled = EXCLUDED.enabled`;
}

export async function upsertDefaultActions(db: Db, userId: string, kind: string, ruleId: string, actions: unknown[]): Promise<void> {
  await db`
    INSERT INTO push_rule_defaults (user_id, kind, rule_id, actions) VALUES (${userId}, ${kind}, ${ruleId}, ${db.json(actions as never)})
    ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET actions = EXCLUDED.actions`;
}

/** Locks the user's push rules for the rest of the transaction (creating the stamp row on first use). */
export async function lockPushRules(tx: Tx, userId: string): Promise<void> {
  await tx`
    INSERT INTO push_rules_stream (user_id, stream_pos) VALUES (${userId}, 0)
    ON CONFLICT (user_id) DO UPDATE SET stream_pos = push_rules_stream.stream_pos`;
}

/** Stamps the user's push rules with the stream position of this change. */
export async function updatePushRulesStream(tx: Tx, userId: string, streamPos: number | PositionSql): Promise<void> {
  await tx`UPDATE push_rules_stream SET stream_pos = ${streamPos} WHERE user_id = ${userId}`;
}
