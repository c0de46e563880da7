/**
 * The sliding sync engine (MSC4186): one request of a connection. It opens the connection state the client's pos
 * names (or starts a new connection), merges the sticky parameters, then reads: the room list at the watermark in one
 * statement, the lists' windows, what the connection already holds of the rooms in them, the rooms with something new,
 * and the extensions. With nothing new it long-polls like /sync: the listener is registered before each read, so a
 * write that commits meanwhile wakes it; a waiting request costs no query. After a wake, what the connection holds is
 * not read again: only which of those rooms have events since the first read, in the room list's statement. A response
 * that sent rooms new to the connection (or anything but new events of rooms it keeps), changed the parameters or
 * covered other rooms than the pos's generation for the room extensions (extensions/scope-changes.ts: a room coming
 * back into their scope gets what changed while it was out) writes a new generation of the connection state; its pos
 * names it (kept-rooms.ts). docs/sliding-sync.md.
 */
import type { Hs, Requester } from '../../hs.js';
import { selectRoomsWithMemberships } from '../../db/rooms.js';
import {
  createConnection, insertGeneration, openConnection, selectDirectAndTags, selectSentRooms, selectSpaceChildren,
  type CarriedRoomRow, type HeldRoom, type ListAccountData, type ListRoomRow, type PrefetchedBatch, type RoomCounts, type SentRoomRow,
} from '../../db/sliding-sync.js';
import { generationRows } from './kept-rooms.js';
import { roomKey, userKey } from '../notifier.js';
import { ignoringFrom } from '../ignored-users.js';
import { buildExtensions } from './extensions/index.js';
import { formatPos } from './pos.js';
import { unknownPos } from '../../errors.js';
import { combineConfigs } from './required-state.js';
import { cutList, directRoomsOf, orderedRooms } from './room-list.js';
import { buildRooms, type RoomDataRow, type RoomJob } from './room-data.js';
import { sameScope, scopeChanges, scopeRecordOf, type ScopeRecord, type Tracked } from './extensions/scope-changes.js';
import { mergeParams, sameParams } from './params.js';
import type { ConnectionParams, EngineRequest, EngineResult, RoomConfig } from './types.js';

/** Long-polls are capped so that a client's timeout cannot hold a connection for ever. */
const MAX_TIMEOUT_MS = 5 * 60_000;
/** Connections kept per device (the least recently used go first), and how long an unused one is kept. */
const CONNECTIONS_PER_DEVICE = 10;
const CONNECTION_EXPIRY_MS = 7 * 24 * 3600_000;
/** A connection's last use is written at most this often (most long-polls then write nothing). */
const LAST_USED_PRECISION_MS = 60_000;
/** Rooms a connection remembers having sent (the least recently sent are forgotten, then sent again in full). */
const ROOMS_PER_CONNECTION = 5000;
const TRIM_EVERY_GENERATIONS = 50;

const EMPTY_PARAMS: ConnectionParams = { lists: {}, subscriptions: {}, extensions: {} };
/** What cutting lists without account-data filters reads of the account data: nothing. */
const NO_FILTER_INPUTS = { directRooms: new Set<string>(), tags: new Map<string, Set<string>>(), spaceChildren: new Set<string>() };

/** What the lists and rooms need of the account data: m.direct (is_dm is sent per room), whom the user ignores, tags. */
function inputsOf(userId: string, { direct, ignored, tags }: ListAccountData, spaceChildren: Set<string>) {
  const tagSets = new Map<string, Set<string>>();
  for (const [roomId, content] of tags) {
    const t = content.tags;
    if (t && typeof t === 'object') tagSets.set(roomId, new Set(Object.keys(t)));
  }
  return { directRooms: directRoomsOf(direct), ignoring: ignoringFrom(ignored, userId), tags: tagSets, spaceChildren };
}

/** Lists filtering by account data (is_dm, tags, spaces) read it before they are cut; else it is read with the connection's rooms. */
function filtersNeedInputs(params: ConnectionParams): boolean {
  return Object.values(params.lists).some(({ filters: f }) => f.isDm !== undefined || f.tags !== undefined || f.notTags !== undefined || f.spaces !== undefined);
}

/** Reads the account data the lists and rooms need (tags and spaces when a list filters by them). */
async function listInputs(hs: Hs, userId: string, params: ConnectionParams, rooms: ListRoomRow[]) {
  const lists = Object.values(params.lists);
  const wantTags = lists.some((l) => l.filters.tags !== undefined || l.filters.notTags !== undefined);
  const joinedSpaces = new Set(rooms.filter((r) => r.membership === 'join').map((r) => r.roomId));
  const spaces = [...new Set(lists.flatMap((l) => l.filters.spaces ?? []))].filter((s) => joinedSpaces.has(s));
  const [account, spaceChildren] = await Promise.all([selectDirectAndTags(hs.sql, userId, wantTags), selectSpaceChildren(hs.sql, spaces)]);
  return inputsOf(userId, account, spaceChildren);
}

/**
 * The rows a new generation writes, with each room extension's position (scope-changes.ts): null for a room sent
 * from scratch, the client's pos for one that just left the extension's scope, else as it was; and the rooms that
 * left a scope without a row here, whose newest rows are written again with the client's pos as that position.
 */
function rowsWithPositions(g: {
  rows: RoomDataRow[];
  initial: (roomId: string) => boolean;
  prev: Map<string, SentRoomRow>;
  moved: Record<Tracked, { left: string[] }>;
  from: number | undefined;
}): { rows: SentRoomRow[]; carried: CarriedRoomRow[] } {
  const leftReceipts = new Set(g.moved.receipts.left);
  const leftAccountData = new Set(g.moved.account_data.left);
  const at = (left: Set<string>, roomId: string) => (left.has(roomId) && g.from !== undefined ? g.from : null);
  const rows = g.rows.map((r): SentRoomRow => {
    // A room sent from scratch gets all current data when it is next in scope (the client may have dropped the old).
    if (g.initial(r.roomId)) return { ...r, receiptsTo: null, accountDataTo: null };
    const p = g.prev.get(r.roomId);
    return { ...r, receiptsTo: at(leftReceipts, r.roomId) ?? p?.receiptsTo ?? null, accountDataTo: at(leftAccountData, r.roomId) ?? p?.accountDataTo ?? null };
  });
  const written = new Set(g.rows.map((r) => r.roomId));
  const carried = [...new Set([...leftReceipts, ...leftAccountData])]
    .filter((roomId) => !written.has(roomId))
    .map((roomId) => ({ roomId, receiptsTo: at(leftReceipts, roomId), accountDataTo: at(leftAccountData, roomId) }));
  return { rows, carried };
}

export async function slidingSync(hs: Hs, requester: Requester, req: EngineRequest): Promise<EngineResult> {
  const deadline = Date.now() + Math.min(req.timeoutMs, MAX_TIMEOUT_MS);
  const { userId, deviceId } = requester;
  // The connection is opened (or created) while the room list is read: independent statements, pipelined.
  const opening = (async () => {
    if (req.pos === undefined) {
      const connection = await createConnection(hs.sql, {
        userId, deviceId, connId: req.connId, now: Date.now(), maxPerDevice: CONNECTIONS_PER_DEVICE, expireBefore: Date.now() - CONNECTION_EXPIRY_MS,
      });
      return { connection, gen: 0, stored: EMPTY_PARAMS, storedScope: null, keptHead: null };
    }
    const open = await openConnection(hs.sql, {
      userId, deviceId, connId: req.connId, connection: req.pos.connection, gen: req.pos.gen, now: Date.now(), usedPrecisionMs: LAST_USED_PRECISION_MS,
    });
    if (!open) throw unknownPos('the connection expired or was replaced');
    return { connection: req.pos.connection, gen: req.pos.gen, stored: open.params as ConnectionParams, storedScope: (open.scope ?? null) as ScopeRecord | null, keptHead: open.head };
  })();
  // As /sync: a syncing user is online (or idle), unless the request says to leave presence alone.
  const setPresence = req.setPresence ?? 'online';
  const presence = setPresence !== 'offline' ? hs.presence.syncing(userId, setPresence, Math.max(0, deadline - Date.now())) : undefined;
  // Neither may be left unawaited when the other fails.
  opening.catch(() => {});
  presence?.catch(() => {});
  let opened:
    | { connection: number; gen: number; keptHead: number | null; stored: ConnectionParams; storedScope: ScopeRecord | null; params: ConnectionParams; paramsChanged: boolean }
    | undefined;
  const since = req.pos?.stream;
  /**
   * What the connection holds, as this request last read it (at `at`), the rooms that read asked for, and how many
   * events each room's timeline read fetches (its timeline limit and one).
   */
  let held: { at: number; rooms: Map<string, HeldRoom>; asked: Set<string>; fetch: Map<string, number> } | undefined;

  for (;;) {
    const hint = hs.polls.roomsHint(userId) ?? (await selectRoomsWithMemberships(hs.sql, userId, ['join', 'invite']));
    // Registered before the read: anything relevant that commits after the watermark is read wakes this listener.
    const listener = hs.notifier.listen([userKey(userId), ...hint.map(roomKey)]);
    try {
      // Read before the room list: typing changes up to it are delivered now, later ones next time.
      const typing = hs.typing.position();
      // After a wake: which of the rooms read before have events since, with the list's changes (one statement).
      const heldThen = held;
      const probe = heldThen && opened
        ? {
          rooms: [...heldThen.asked].map((roomId) => ({ roomId, from: heldThen.rooms.get(roomId)?.sentPos ?? null, fetch: heldThen.fetch.get(roomId) ?? 0 })),
          after: heldThen.at,
          account: !filtersNeedInputs(opened.params),
        }
        : undefined;
      const [{ head, rooms, probed }, conn] = await Promise.all([hs.roomLists.read(hs.sql, userId, probe), opening, presence]);
      if (!opened) {
        const params = mergeParams(conn.stored, req);
        opened = { ...conn, params, paramsChanged: req.pos === undefined || !sameParams(conn.stored, params) };
      }
      const { connection, gen, params, paramsChanged, stored, storedScope } = opened;
      const current = rooms.filter((r) => r.membership === 'join' || r.membership === 'invite').map((r) => r.roomId);
      hs.polls.rememberRooms(userId, current);
      const listened = new Set(hint);
      const coversEveryRoom = current.every((r) => listened.has(r));
      // A pos from the future (a restored database) is read as the watermark.
      const from = since !== undefined ? Math.min(since, head) : undefined;

      // Unless a list filters by it, the account data is read in one statement with what the connection holds of the window.
      const filterInputs = filtersNeedInputs(params) ? await listInputs(hs, userId, params, rooms) : undefined;
      const listView = { userId, since: from, rooms, ...(filterInputs ?? NO_FILTER_INPUTS) };
      const ordered = orderedRooms(listView);
      const byId = new Map(rooms.map((r) => [r.roomId, r]));
      const wanted = new Map<string, { row: ListRoomRow; configs: RoomConfig[]; lists: string[] }>();
      const lists: EngineResult['lists'] = {};
      const listRooms = new Map<string, string[]>();
      for (const [name, list] of Object.entries(params.lists)) {
        const { count, window } = cutList(ordered, list, listView);
        lists[name] = { count };
        listRooms.set(name, window.map((r) => r.roomId));
        for (const row of window) {
          const w = wanted.get(row.roomId) ?? { row, configs: [], lists: [] };
          w.configs.push(list);
          w.lists.push(name);
          wanted.set(row.roomId, w);
        }
      }
      const subscribed: string[] = [];
      for (const [roomId, config] of Object.entries(params.subscriptions)) {
        const row = byId.get(roomId);
        // Only rooms the user is or was in, or is invited to or knocking on; others are ignored (MSC4186).
        if (!row || row.forgotten) continue;
        subscribed.push(roomId);
        const w = wanted.get(roomId) ?? { row, configs: [], lists: [] };
        w.configs.push(config);
        wanted.set(roomId, w);
      }
      // What the connection holds does not change within a request: read once, then only which rooms have events since.
      let account: ListAccountData | undefined;
      let counts: Map<string, RoomCounts>;
      let batches = new Map<string, PrefetchedBatch>();
      const heldBefore = held;
      if (heldBefore && probed && probe && (filterInputs || probed.account) && [...wanted.keys()].every((r) => heldBefore.asked.has(r))) {
        const moved = new Map([...heldBefore.rooms].map(([r, h]) => [r, probed.withEvents.has(r) && !h.changed ? { ...h, changed: true } : h]));
        held = { ...heldBefore, at: head, rooms: moved };
        account = probed.account;
        counts = probed.counts;
        batches = probed.batches;
      } else {
        const read = await selectSentRooms(hs.sql, {
          userId, connection, gen, keptHead: opened.keptHead, since: from, roomIds: [...wanted.keys()], head, accountOf: filterInputs ? undefined : userId,
          fetch: [...wanted.values()].map((w) => combineConfigs(w.configs).timelineLimit + 1),
        });
        held = { at: head, rooms: read.held, asked: new Set(wanted.keys()), fetch: new Map() };
        account = read.account;
        counts = read.counts;
        batches = read.batches;
      }
      const prev = held.rooms;
      const inputs = { ...listView, ...(filterInputs ?? inputsOf(userId, account!, new Set())) };
      const jobs = new Map<string, RoomJob>();
      for (const [roomId, w] of wanted) {
        const config = combineConfigs(w.configs);
        jobs.set(roomId, { row: w.row, config, lists: w.lists, prev: prev.get(roomId) });
        held.fetch.set(roomId, config.timelineLimit + 1);
      }
      const built = await buildRooms({ hs, requester, head, since: from, directRooms: inputs.directRooms, ignoring: inputs.ignoring, counts, batches }, jobs);
      // The rooms that entered or left the room extensions' scope since the client's pos.
      const scope = scopeRecordOf(params.extensions, listRooms, subscribed);
      const moved = scopeChanges({ extensions: stored.extensions, record: storedScope }, { extensions: params.extensions, record: scope });
      // Of a room that entered, the position up to which the client has the extension's data (none without a row).
      const enteredFrom = (name: Tracked, to: (p: SentRoomRow) => number | null) =>
        new Map(moved[name].entered.map((roomId) => [roomId, prev.has(roomId) ? (to(prev.get(roomId)!) ?? undefined) : undefined] as const));
      const ext = await buildExtensions(
        {
          hs, requester, since: from, upTo: head, typing: { since: req.pos?.typing, upTo: typing }, listRooms, subscribedRooms: subscribed,
          initialRooms: new Set(Object.entries(built.rooms).filter(([, r]) => r.initial).map(([roomId]) => roomId)),
          entered: {
            receipts: enteredFrom('receipts', (p) => p.receiptsTo),
            account_data: enteredFrom('account_data', (p) => p.accountDataTo),
            typing: new Map(moved.typing.entered.map((roomId) => [roomId, undefined])),
          },
        },
        params.extensions,
      );
      const empty = Object.keys(built.rooms).length === 0 && ext.empty;
      const remaining = deadline - Date.now();
      const answer = from === undefined || paramsChanged || !empty || remaining <= 0;
      // Nothing new: wait for a wake (then read again) or the timeout (then the empty answer). A room the listener
      // does not cover (the hint was stale): listen again, with every room, before waiting.
      if (!answer && !coversEveryRoom) continue;
      if (answer || !(await listener.wait(remaining))) {
        let next = gen;
        // Covering other rooms for the room extensions than the pos's generation also needs a generation.
        const mustWrite = from === undefined || paramsChanged || !sameScope(storedScope, scope);
        const rows = generationRows({ mustWrite, held: prev, covered: new Set(wanted.keys()), sent: built.sent, head });
        if (rows) {
          const withPositions = rowsWithPositions({ rows, initial: (roomId) => built.rooms[roomId]?.initial === true, prev, moved, from });
          const written = await insertGeneration(hs.sql, {
            connection, fromGen: gen, params, head, scope, rooms: withPositions.rows, carried: withPositions.carried, maxRooms: ROOMS_PER_CONNECTION, trimEvery: TRIM_EVERY_GENERATIONS,
          });
          if (written === undefined) throw unknownPos('the connection was replaced');
          next = written;
        }
        return { pos: formatPos({ connection, gen: next, stream: head, typing }), lists, rooms: built.rooms, extensions: ext.extensions };
      }
    } finally {
      listener.close();
    }
  }
}
