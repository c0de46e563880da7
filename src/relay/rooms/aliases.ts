/**
 * Room aliases (#name:server): the grammar, and creating, resolving and deleting them. Only the alias's
 * creator or a room member with enough power may delete it.
 */
import type { Hs } from '../../hs.js';
import { badAlias, forbidden, invalidParam, notFound, unknownError } from '../../errors.js';
import type { Db } from '../../db/database.js';
import * as roomsDb from '../../db/rooms.js';
import { selectStateAt } from '../../db/events.js';
import { selectStreamHead } from '../../db/stream.js';
import { MAX_ID_BYTES, isRoomAlias } from '../../lib/identifiers.js';
import { roomStateOfRows } from './events.js';
import { requiredPowerLevel, userPowerLevel } from './power-levels.js';
import { requireJoined } from './access.js';


/** The full alias for a local name from createRoom's room_alias_name. */
export function validateAliasLocalpart(name: string, serverName: string): string {
  if (name.length === 0 || /[\s:#]/.test(name)) throw invalidParam('room_alias_name must be non-empty and contain no whitespace, ":" or "#".');
  const alias = `#${name}:${serverName}`;
  if (!isRoomAlias(alias)) throw invalidParam(`Room aliases are at most ${MAX_ID_BYTES} bytes.`);
  return alias;
}

/** Checks a full alias from a path: its grammar, and that it belongs to this server. */
export function checkAlias(alias: string, serverName: string): void {
  if (!isRoomAlias(alias)) throw invalidParam(`${alias} is not a room alias (#name:server).`);
  if (alias.slice(alias.indexOf(':') + 1) !== serverName) throw invalidParam(`This server only manages aliases on ${serverName}.`);
}

export async function resolveAlias(hs: Hs, alias: string): Promise<string> {
  const row = await roomsDb.selectAlias(hs.sql, alias);
  if (!row) throw notFound(`Room alias ${alias} not found.`);
  return row.roomId;
}

export async function setAlias(hs: Hs, userId: string, alias: string, roomId: string): Promise<void> {
  checkAlias(alias, hs.config.serverName);
  await requireJoined(hs.sql, userId, roomId, 'You must be joined to the room to give it an alias.');
  if (!(await roomsDb.insertAlias(hs.sql, { alias, roomId, creator: userId }))) throw unknownError(409, `Room alias ${alias} already exists.`);
}

export async function deleteAlias(hs: Hs, userId: string, isAdmin: boolean, alias: string): Promise<void> {
  checkAlias(alias, hs.config.serverName);
  const row = await roomsDb.selectAlias(hs.sql, alias);
  if (!row) throw notFound(`Room alias ${alias} not found.`);
  if (row.creator !== userId && !isAdmin) {
    const state = roomStateOfRows(await selectStateAt(hs.sql, row.roomId, await selectStreamHead(hs.sql)));
    const level = state.get('m.room.member', userId)?.content.membership === 'join' ? userPowerLevel(state, userId) : -Infinity;
    if (level < requiredPowerLevel(state, 'm.room.canonical_alias', true)) throw forbidden('Only the alias creator or a room moderator can delete it.');
  }
  await roomsDb.deleteAlias(hs.sql, alias);
}

const aliasesIn = (content: Record<string, unknown> | undefined): string[] => {
  if (!content) return [];
  const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases.filter((a): a is string => typeof a === 'string') : [];
  return typeof content.alias === 'string' && content.alias !== '' ? [content.alias, ...alt] : alt;
};

/**
 * m.room.canonical_alias from a client: `alias` (a string, if present) and `alt_aliases` (a list of strings, if
 * present) must name aliases that exist here and point to this room (spec: 400 M_BAD_ALIAS), so that clients
 * showing the canonical alias lead to the room. Like Synapse, only the aliases the event adds are checked: an alias
 * that was right when set and has since been deleted does not block changing the others. Aliases of other servers
 * cannot be resolved (no federation) and are refused.
 */
export async function checkCanonicalAlias(db: Db, serverName: string, roomId: string, content: Record<string, unknown>, current: Record<string, unknown> | undefined): Promise<void> {
  // No alias: absent, null or "" (what clients send to remove it; Synapse accepts the same).
  if (content.alias !== undefined && content.alias !== null && typeof content.alias !== 'string') throw invalidParam('m.room.canonical_alias: alias must be a string.');
  if (content.alt_aliases !== undefined && (!Array.isArray(content.alt_aliases) || !content.alt_aliases.every((a) => typeof a === 'string'))) {
    throw invalidParam('m.room.canonical_alias: alt_aliases must be a list of strings.');
  }
  const known = new Set(aliasesIn(current));
  const added = [...new Set(aliasesIn(content))].filter((a) => !known.has(a));
  for (const alias of added) {
    if (!isRoomAlias(alias)) throw invalidParam(`m.room.canonical_alias: ${JSON.stringify(alias)} is not a room alias (#name:server).`);
    if (alias.slice(alias.indexOf(':') + 1) !== serverName) throw badAlias(`${alias} is an alias of another server, which this server cannot check.`);
  }
  // One statement for all of them: the list is bounded only by the event's size.
  const targets = await roomsDb.selectAliasTargets(db, added);
  const wrong = added.find((alias) => targets.get(alias) !== roomId);
  if (wrong !== undefined) throw badAlias(`The alias ${wrong} does not point to this room.`);
}
