/**
 * Room tags: stored as the user's m.tag room account data `{tags: {name: {order?}}}`, so /sync delivers every change.
 * Only one's own tags, only on rooms one is or was in (invited, joined, left, banned, knocked); each change is a
 * read-modify-write under the row's lock, and takes its stream position last.
 */
import type { Hs } from '../../hs.js';
import { badJson, forbidden, invalidParam } from '../../errors.js';
import { transaction } from '../../db/database.js';
import { selectAccountData, updateAccountDataStreamPos, upsertAccountData } from '../../db/account-data.js';
import { selectAccountDataForUpdate } from '../../db/directory.js';
import { stampAtNextPositionAndCommit } from '../../db/stream.js';
import { onAccountData } from '../wakes.js';
import { checkAccountData, checkTagData } from '../policy.js';
import { checkRoomId } from './room-ids.js';
import { membershipOf, requireRoom } from '../rooms/access.js';

const TAG_TYPE = 'm.tag';
/** Like event types: a tag name is 1 to 255 bytes. */
const TAG_MAX_BYTES = 255;

type Tags = Record<string, Record<string, unknown>>;

async function checkAccess(hs: Hs, requesterId: string, userId: string, roomId: string): Promise<void> {
  if (requesterId !== userId) throw forbidden('You can only access your own tags.');
  checkRoomId(roomId);
  await requireRoom(hs.sql, roomId);
  if ((await membershipOf(hs.sql, userId, roomId)) === undefined) throw forbidden('You have never been in this room.');
}

function checkTag(tag: string): void {
  if (tag.length === 0 || Buffer.byteLength(tag) > TAG_MAX_BYTES || tag.includes('\u0000')) {
    throw invalidParam(`Tag names are 1 to ${TAG_MAX_BYTES} bytes, without NUL characters.`);
  }
}

/** The tags of stored m.tag content; anything malformed in it is dropped rather than returned. */
function tagsOf(content: Record<string, unknown> | undefined): Tags {
  const tags = content?.tags;
  // No prototype: a tag named __proto__ stays an ordinary key.
  const out = Object.create(null) as Tags;
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) return out;
  for (const [name, value] of Object.entries(tags)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) out[name] = value as Record<string, unknown>;
  }
  return out;
}

export async function getTags(hs: Hs, requesterId: string, userId: string, roomId: string): Promise<{ tags: Tags }> {
  await checkAccess(hs, requesterId, userId, roomId);
  return { tags: tagsOf(await selectAccountData(hs.sql, userId, roomId, TAG_TYPE)) };
}

async function changeTags(hs: Hs, userId: string, roomId: string, change: (tags: Tags) => void): Promise<void> {
  const key = { userId, roomId, type: TAG_TYPE };
  await transaction(hs.sql, async (tx) => {
    const tags = tagsOf(await selectAccountDataForUpdate(tx, key));
    change(tags);
    checkAccountData(hs.config, TAG_TYPE, { tags }, true);
    await upsertAccountData(tx, { ...key, content: { tags } });
    await stampAtNextPositionAndCommit(tx, [(pos) => updateAccountDataStreamPos(tx, key, pos)]);
  });
  onAccountData(hs.notifier, userId);
}

/** The body is the tag's data: its `order` (a number), nothing else (policy/account-data.ts). */
export async function setTag(hs: Hs, requesterId: string, userId: string, roomId: string, tag: string, data: Record<string, unknown>): Promise<void> {
  await checkAccess(hs, requesterId, userId, roomId);
  checkTag(tag);
  if (data.order !== undefined && (typeof data.order !== 'number' || !Number.isFinite(data.order))) throw badJson('order must be a number.');
  checkTagData(data);
  await changeTags(hs, userId, roomId, (tags) => {
    tags[tag] = data;
  });
}

/** Removing a tag the room does not have is not an error. */
export async function deleteTag(hs: Hs, requesterId: string, userId: string, roomId: string, tag: string): Promise<void> {
  await checkAccess(hs, requesterId, userId, roomId);
  checkTag(tag);
  const current = tagsOf(await selectAccountData(hs.sql, userId, roomId, TAG_TYPE));
  if (!Object.hasOwn(current, tag)) return;
  await changeTags(hs, userId, roomId, (tags) => {
    delete tags[tag];
  });
}
