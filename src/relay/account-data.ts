/**
 * Account data: per-user JSON objects keyed by type. Types the server manages itself (m.fully_read, m.push_rules)
 * cannot be written here; the rest has the shapes of policy/account-data.ts. Each write takes a stream position, last in its transaction, so /sync delivers it.
 */
import { forbidden, notFound, badJson, invalidParam } from '../errors.js';
import type { Hs } from '../hs.js';
import { selectAccountData, updateAccountDataStreamPos, upsertAccountData } from '../db/account-data.js';
import { stampAtNextPositionAndCommit } from '../db/stream.js';
import { getPushRuleset } from './push-rules/rules.js';
import { onAccountData } from './wakes.js';
import { transaction } from '../db/database.js';
import { requireRoom } from './rooms/access.js';
import { checkRoomId } from './directory/room-ids.js';
import { checkAccountData } from './policy.js';

const SERVER_MANAGED = new Set(['m.fully_read', 'm.push_rules']);
/** Like event types: at most 255 bytes. */
const TYPE_MAX_BYTES = 255;

function checkAccess(requesterId: string, userId: string): void {
  if (requesterId !== userId) throw forbidden('You can only access your own account data.');
}

function checkType(type: string): void {
  if (type.length === 0 || Buffer.byteLength(type) > TYPE_MAX_BYTES || type.includes('\u0000')) {
    throw invalidParam(`Account data types are 1 to ${TYPE_MAX_BYTES} bytes, without NUL characters.`);
  }
}

export async function setAccountData(hs: Hs, requesterId: string, userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<void> {
  checkAccess(requesterId, userId);
  checkType(type);
  if (SERVER_MANAGED.has(type)) throw badJson(`Cannot set ${type} through this API.`, 405);
  // Room account data: a valid room id (400 M_INVALID_PARAM) of a room this server knows (404 M_NOT_FOUND).
  if (roomId !== '') {
    checkRoomId(roomId);
    await requireRoom(hs.sql, roomId);
  }
  checkAccountData(hs.config, type, content, roomId !== '');
  const key = { userId, roomId, type };
  await transaction(hs.sql, async (tx) => {
    await upsertAccountData(tx, { ...key, content });
    // The stream position is taken last, with the stamp and COMMIT in the same round trip: the stream head's row lock
    // is then held for PostgreSQL's work only.
    await stampAtNextPositionAndCommit(tx, [(pos) => updateAccountDataStreamPos(tx, key, pos)]);
  });
  onAccountData(hs.notifier, userId);
}

export async function getAccountData(hs: Hs, requesterId: string, userId: string, roomId: string, type: string): Promise<Record<string, unknown>> {
  checkAccess(requesterId, userId);
  checkType(type);
  if (roomId !== '') checkRoomId(roomId);
  // Push rules live in their own tables; clients may still read them as the m.push_rules account data.
  if (type === 'm.push_rules' && roomId === '') return { global: await getPushRuleset(hs, userId) };
  const content = await selectAccountData(hs.sql, userId, roomId, type);
  if (content === undefined) throw notFound('No account data of that type.');
  return content;
}
