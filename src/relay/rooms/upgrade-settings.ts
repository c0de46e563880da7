/**
 * A user's own settings follow a room upgrade (spec, "Room Upgrades": when a user joins the new room, the server
 * should transfer their personalised settings): on joining a room whose m.room.create names a predecessor, the
 * user's tags of the old room (m.tag room account data) are copied to the new room unless it has some already,
 * wherever their m.direct lists the old room the new room is added, so a direct chat stays a direct chat in clients
 * that build their DM list from m.direct (Element), and their push rules for the old room (a `room` rule named by
 * its id, or a rule matching its `room_id`: how clients mute a room or keep it to mentions) get a copy for the new
 * room. Synapse does the same. Best effort, after the join has
 * committed: the join stands whatever happens here.
 */
import type { Hs } from '../../hs.js';
import { transaction } from '../../db/database.js';
import { selectAccountData, updateAccountDataStreamPos, upsertAccountData } from '../../db/account-data.js';
import { selectAccountDataForUpdate } from '../../db/directory.js';
import { takeStreamPosition } from '../../db/stream.js';
import { onAccountData } from '../wakes.js';
import { selectPushRules } from '../../db/push-rules.js';
import { setPushRule, setPushRuleEnabled, type RuleContent } from '../push-rules/rules.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The room id a create event's content names as its predecessor, if any. */
export function predecessorOf(createContent: Record<string, unknown> | undefined): string | undefined {
  const p = createContent?.predecessor;
  return isObject(p) && typeof p.room_id === 'string' ? p.room_id : undefined;
}

/** m.direct with `newRoomId` added next to `oldRoomId` in every list that has the old one; undefined: no change. */
function directWithNewRoom(direct: Record<string, unknown>, oldRoomId: string, newRoomId: string): Record<string, unknown> | undefined {
  let changed = false;
  const out: Record<string, unknown> = { ...direct };
  for (const [user, rooms] of Object.entries(direct)) {
    if (Array.isArray(rooms) && rooms.includes(oldRoomId) && !rooms.includes(newRoomId)) {
      out[user] = [...rooms, newRoomId];
      changed = true;
    }
  }
  return changed ? out : undefined;
}

/** Copies `userId`'s tags and direct-chat listing from `oldRoomId` to `newRoomId` (see the module comment). */
export async function carrySettingsToUpgradedRoom(hs: Hs, userId: string, oldRoomId: string, newRoomId: string): Promise<void> {
  const [oldTags, newTags, direct] = await Promise.all([
    selectAccountData(hs.sql, userId, oldRoomId, 'm.tag'),
    selectAccountData(hs.sql, userId, newRoomId, 'm.tag'),
    selectAccountData(hs.sql, userId, '', 'm.direct'),
  ]);
  const copyTags = newTags === undefined && isObject(oldTags?.tags) && Object.keys(oldTags.tags).length > 0;
  const addDirect = direct !== undefined && directWithNewRoom(direct, oldRoomId, newRoomId) !== undefined;
  if (!copyTags && !addDirect) return;
  await transaction(hs.sql, async (tx) => {
    const keys = [];
    if (copyTags) {
      const key = { userId, roomId: newRoomId, type: 'm.tag' };
      await upsertAccountData(tx, { ...key, content: { tags: oldTags!.tags } });
      keys.push(key);
    }
    if (addDirect) {
      // Read again under the row's lock: a client's own m.direct write in between is not lost.
      const key = { userId, roomId: '', type: 'm.direct' };
      const next = directWithNewRoom(await selectAccountDataForUpdate(tx, key), oldRoomId, newRoomId);
      if (next) {
        await upsertAccountData(tx, { ...key, content: next });
        keys.push(key);
      }
    }
    // The stream position is taken last, so the stream head's lock is held only until commit.
    if (keys.length > 0) {
      const pos = await takeStreamPosition(tx);
      for (const key of keys) await updateAccountDataStreamPos(tx, key, pos);
    }
  });
  onAccountData(hs.notifier, userId);
}

/** The user's push rules about the old room, copied for the new one unless a rule of that id exists already. */
export async function carryPushRules(hs: Hs, userId: string, oldRoomId: string, newRoomId: string): Promise<void> {
  const rules = await selectPushRules(hs.sql, userId);
  const existing = new Set(rules.map((r) => `${r.kind}\u0000${r.ruleId}`));
  const aboutOld = (c: unknown) => isObject(c) && c.kind === 'event_match' && c.key === 'room_id' && c.pattern === oldRoomId;
  for (const r of rules) {
    const isRoomRule = r.kind === 'room' && r.ruleId === oldRoomId;
    const matchesRoom = (r.kind === 'override' || r.kind === 'underride') && (r.conditions ?? []).some(aboutOld);
    if (!isRoomRule && !matchesRoom) continue;
    const ruleId = r.ruleId.split(oldRoomId).join(newRoomId);
    if (ruleId === r.ruleId || existing.has(`${r.kind}\u0000${ruleId}`)) continue;
    const content = { actions: r.actions } as RuleContent;
    if (matchesRoom) content.conditions = (r.conditions ?? []).map((c) => (aboutOld(c) ? { ...(c as Record<string, unknown>), pattern: newRoomId } : c)) as RuleContent['conditions'];
    await setPushRule(hs, userId, r.kind, ruleId, content, {});
    if (!r.enabled) await setPushRuleEnabled(hs, userId, r.kind, ruleId, false);
  }
}

/** After a join has committed: carries the settings, and only logs what fails (the join stands). */
export async function carrySettingsAfterJoin(hs: Hs, userId: string, oldRoomId: string, newRoomId: string): Promise<void> {
  try {
    await carrySettingsToUpgradedRoom(hs, userId, oldRoomId, newRoomId);
    await carryPushRules(hs, userId, oldRoomId, newRoomId);
  } catch (err) {
    hs.log.warn({ err }, 'Could not carry tags and m.direct over to an upgraded room');
  }
}
