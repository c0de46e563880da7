/**
 * The one statement of a sliding-sync extensions read: in one round trip (and one snapshot) it deletes the to-device
 * messages the client acknowledged and reads the next batch, the device's key counts, whether device lists may have
 * changed, the account data changed in range, and, of the rooms in the room extensions' scope, which the user is
 * joined to and which have new receipts. Each part runs only when its extension is on. The parts are /sync's
 * (to-device.ts, keys.ts, account-data.ts, receipts.ts): one rule, one place.
 */
import type { Db } from './database.js';
import { inboxAckSql, inboxBatchSql, readInboxBatch, type InboxParams, type ToDeviceRow } from './to-device.js';
import { deviceListActivitySql, keyCountsSql, readKeyCounts, type KeyCounts } from './keys.js';
import { accountDataChangesSql, pushRulesPosSql, readAccountDataChanges, type AccountDataRow } from './account-data.js';
import { roomsWithReceiptsSql } from './receipts.js';

export interface ExtensionsSnapshot {
  /** With to_device on: the device's next batch up to the watermark. */
  toDevice: ToDeviceRow[];
  /** With e2ee on. */
  keyCounts: KeyCounts | undefined;
  /** With e2ee on and a since: whether any device list or membership changed in (since, upTo]. */
  deviceListActivity: boolean;
  /** With account_data on: the rows changed in (since, upTo] (all on a new connection), and the push rules' position. */
  accountData: { changed: AccountDataRow[]; pushRulesPos: number | undefined } | undefined;
  /** Of `rooms`: those the user is joined to. */
  joined: Set<string>;
  /** Of `rooms`, with receipts on and a since: those whose receipts changed in (since, upTo]. */
  withReceipts: Set<string>;
}

/**
 * Parameters, each named once: $1 user, $2 device, $3 since (-1 on a new connection), $4 incremental, $5 watermark,
 * $6 to_device on, $7 whether an acknowledgement came, $8 the acknowledged message id, $9 to-device limit, $10 e2ee
 * on, $11 account_data on, $12 the rooms in scope, $13 receipts on.
 */
const INBOX: InboxParams = { user: '$1::text', device: '$2::text', ack: '$8::bigint', upTo: '$5::bigint', limit: '$9::int' };
const SCOPE = '(SELECT unnest($12::text[]))';
const STATEMENT = `
    WITH acked AS (${inboxAckSql(INBOX, '$6::boolean AND $7::boolean')})
    SELECT
      CASE WHEN $6::boolean THEN ${inboxBatchSql(INBOX)} END AS to_device,
      CASE WHEN $10::boolean THEN ${keyCountsSql('$1::text', '$2::text')} END AS key_counts,
      $10::boolean AND $4::boolean AND ${deviceListActivitySql('$3::bigint', '$5::bigint')} AS device_list_activity,
      CASE WHEN $11::boolean THEN ${accountDataChangesSql('$1::text', '$3::bigint', '$5::bigint')} END AS account_data,
      CASE WHEN $11::boolean THEN ${pushRulesPosSql('$1::text')} END AS push_rules_pos,
      (SELECT coalesce(array_agg(room_id), '{}') FROM current_state
        WHERE type = 'm.room.member' AND state_key = $1::text AND membership = 'join' AND room_id IN ${SCOPE}) AS joined,
      CASE WHEN $13::boolean AND $4::boolean THEN ${roomsWithReceiptsSql(SCOPE, '$3::bigint', '$5::bigint')} END AS with_receipts
`;

export async function readExtensionsSnapshot(
  db: Db,
  q: {
    userId: string;
    deviceId: string;
    since: number | undefined;
    upTo: number;
    toDevice: { ack: number | undefined; limit: number } | undefined;
    e2ee: boolean;
    accountData: boolean;
    /** The rooms in the receipts' and typing's scopes. */
    rooms: string[];
    receipts: boolean;
  },
): Promise<ExtensionsSnapshot> {
  const params = [
    q.userId, q.deviceId, q.since ?? -1, q.since !== undefined, q.upTo, q.toDevice !== undefined, q.toDevice?.ack !== undefined, q.toDevice?.ack ?? 0,
    q.toDevice?.limit ?? 0, q.e2ee, q.accountData, q.rooms, q.receipts,
  ];
  const [row] = (await db.unsafe(STATEMENT, params as never[], { prepare: true })) as unknown as Record<string, unknown>[];
  return {
    toDevice: row.toDevice === null ? [] : readInboxBatch(row.toDevice),
    keyCounts: row.keyCounts === null ? undefined : readKeyCounts(row.keyCounts),
    deviceListActivity: row.deviceListActivity === true,
    accountData: row.accountData === null ? undefined : { changed: readAccountDataChanges(row.accountData), pushRulesPos: (row.pushRulesPos as number | null) ?? undefined },
    joined: new Set(row.joined as string[]),
    withReceipts: new Set((row.withReceipts as string[] | null) ?? []),
  };
}
