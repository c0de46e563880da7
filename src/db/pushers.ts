/**
 * Pushers (a device's registration with a push gateway) and their delivery state: the last notification pushed,
 * failures and the next try, and the claim a delivery run holds on a pusher so that one process pushes it.
 */
import type { Db } from './database.js';

export interface PusherRow {
  pusherId: number;
  userId: string;
  deviceId: string;
  kind: string;
  appId: string;
  pushkey: string;
  pushkeyTs: number;
  appDisplayName: string;
  deviceDisplayName: string;
  profileTag: string | null;
  lang: string;
  data: Record<string, unknown>;
  lastStreamPos: number;
  failures: number;
  nextAttemptTs: number;
}

export type NewPusher = Pick<
  PusherRow,
  'userId' | 'deviceId' | 'kind' | 'appId' | 'pushkey' | 'pushkeyTs' | 'appDisplayName' | 'deviceDisplayName' | 'profileTag' | 'lang' | 'data'
>;


export async function selectPushersOfUser(db: Db, userId: string): Promise<PusherRow[]> {
  return db<PusherRow[]>`SELECT * FROM pushers WHERE user_id = ${userId} ORDER BY pusher_id`;
}

export async function countPushersOfUser(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`SELECT count(*)::int AS n FROM pushers WHERE user_id = ${userId}`;
  return row.n;
}

/**
 * Creates the user's pusher for (app_id, pushkey) or updates it. A new pusher starts after the notifications that
 * exist now (`fromPos`); an updated one keeps its place, and a changed pushkey time resets its failures.
 */
export async function upsertPusher(db: Db, p: NewPusher, fromPos: number): Promise<void> {
  await db`
    INSERT INTO pushers (user_id, device_id, kind, app_id, pushkey, pushkey_ts, app_display_name, device_display_name, profile_tag, lang, data, last_stream_pos)
    VALUES (${p.userId}, ${p.deviceId}, ${p.kind}, ${p.appId}, ${p.pushkey}, ${p.pushkeyTs}, ${p.appDisplayName}, ${p.deviceDisplayName},
            ${p.profileTag}, ${p.lang}, ${db.json(p.data as never)}, ${fromPos})
    ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET
      device_id = EXCLUDED.device_id, kind = EXCLUDED.kind, pushkey_ts = EXCLUDED.pushkey_ts,
      app_display_name = EXCLUDED.app_display_name, device_display_name = EXCLUDED.device_display_name,
      profile_tag = EXCLUDED.profile_tag, lang = EXCLUDED.lang, data = EXCLUDED.data, failures = 0, next_attempt_ts = 0`;
}

/** append=false: other users' pushers with the same app id and pushkey go (spec: the pushkey moved to this user). */
export async function deleteOtherUsersPushers(db: Db, userId: string, appId: string, pushkey: string): Promise<void> {
  await db`DELETE FROM pushers WHERE app_id = ${appId} AND pushkey = ${pushkey} AND user_id <> ${userId}`;
}

export async function deletePusher(db: Db, userId: string, appId: string, pushkey: string): Promise<boolean> {
  const rows = await db`DELETE FROM pushers WHERE user_id = ${userId} AND app_id = ${appId} AND pushkey = ${pushkey} RETURNING 1`;
  return rows.length === 1;
}

/** A gateway rejected the pushkey: the pusher goes (only the one that was used, whoever holds a lease on it). */
export async function deletePusherById(db: Db, pusherId: number): Promise<void> {
  await db`DELETE FROM pushers WHERE pusher_id = ${pusherId}`;
}

/**
 * Claims up to `limit` pushers that have notifications to push (up to the watermark) and are due: each is leased to
 * `owner` until `leaseUntil`. FOR UPDATE SKIP LOCKED lets several processes claim at once without waiting on each
 * other, and the lease (re-checked on the row's newest version) keeps a pusher with one process while it pushes.
 */
export async function claimDuePushers(db: Db, owner: string, now: number, leaseUntil: number, limit: number): Promise<PusherRow[]> {
  return db<PusherRow[]>`
    UPDATE pushers SET lease_owner = ${owner}, lease_until_ts = ${leaseUntil}
    WHERE pusher_id IN (
      SELECT p.pusher_id FROM pushers p
      WHERE p.kind = 'http' AND p.next_attempt_ts <= ${now} AND p.lease_until_ts <= ${now}
        AND EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = p.user_id AND n.stream_pos > p.last_stream_pos
                      AND n.stream_pos <= (SELECT pos FROM stream_head))
      ORDER BY p.next_attempt_ts, p.pusher_id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING *`;
}

/** The earliest time a pusher with work waits for (a retry), or undefined when none waits. */
export async function selectNextRetryTs(db: Db): Promise<number | undefined> {
  const [row] = await db<{ ts: number | null }[]>`SELECT min(next_attempt_ts) AS ts FROM pushers WHERE failures > 0`;
  return row.ts ?? undefined;
}

/** Delivered (or given up on) up to `pos`; false when the lease is no longer ours (the pusher went, or another took it). */
export async function advancePusher(db: Db, pusherId: number, owner: string, pos: number): Promise<boolean> {
  const rows = await db`
    UPDATE pushers SET last_stream_pos = GREATEST(last_stream_pos, ${pos}), failures = 0, next_attempt_ts = 0
    WHERE pusher_id = ${pusherId} AND lease_owner = ${owner} RETURNING 1`;
  return rows.length === 1;
}

export async function recordPusherFailure(db: Db, pusherId: number, owner: string, failures: number, nextAttemptTs: number): Promise<void> {
  await db`UPDATE pushers SET failures = ${failures}, next_attempt_ts = ${nextAttemptTs} WHERE pusher_id = ${pusherId} AND lease_owner = ${owner}`;
}

export async function releasePusher(db: Db, pusherId: number, owner: string): Promise<void> {
  await db`UPDATE pushers SET lease_owner = NULL, lease_until_ts = 0 WHERE pusher_id = ${pusherId} AND lease_owner = ${owner}`;
}
