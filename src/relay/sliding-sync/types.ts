/**
 * The sliding sync engine's own request and result, in no wire shape: a request adapter (relay/sliding-sync/unstable.ts
 * for the unstable MSC4186 path) turns a client's body into an EngineRequest and the EngineResult back into its body,
 * so another revision of the API (the merged v4 shape) is another adapter over the same engine.
 */
import type { ClientEvent } from '../rooms/events.js';
import type { ExtensionsRequest } from './extensions/index.js';

/** One required_state entry: [event type, state key], with `*`, `$LAZY` and `$ME` as the MSC defines them. */
export type StatePair = [string, string];

/** What to send of a room: the superset over the lists and subscriptions that match it. */
export interface RoomConfig {
  requiredState: StatePair[];
  timelineLimit: number;
}

export interface ListFilters {
  isDm?: boolean;
  spaces?: string[];
  isEncrypted?: boolean;
  isInvite?: boolean;
  roomTypes?: (string | null)[];
  notRoomTypes?: (string | null)[];
  tags?: string[];
  notTags?: string[];
}

export interface ListParams extends RoomConfig {
  /** Inclusive index ranges into the filtered, ordered list; none: the whole list. */
  ranges: [number, number][] | undefined;
  filters: ListFilters;
}

/** The sticky parameters of a connection, as of one generation. */
export interface ConnectionParams {
  lists: Record<string, ListParams>;
  subscriptions: Record<string, RoomConfig>;
  extensions: ExtensionsRequest;
}

/** A client's pos: its connection, the generation of the connection state it holds, its stream and typing positions. */
export interface Pos {
  connection: number;
  gen: number;
  stream: number;
  typing: number;
}

export interface EngineRequest {
  connId: string;
  pos: Pos | undefined;
  timeoutMs: number;
  /** How the request marks the user's presence (as /sync's set_presence; default online, offline: unchanged). */
  setPresence?: 'online' | 'unavailable' | 'offline';
  /** Undefined: the connection's lists stay; else exactly these lists (a field left out keeps its sticky value). */
  lists: Record<string, Partial<ListParams>> | undefined;
  /** Added to (or replacing) the connection's subscriptions. */
  subscriptions: Record<string, Partial<RoomConfig>> | undefined;
  unsubscribe: string[];
  /** Merged into the connection's extension parameters, extension by extension. */
  extensions: ExtensionsRequest | undefined;
}

export interface Hero {
  userId: string;
  displayName?: string;
  avatarUrl?: string;
}

export interface StrippedState {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}

/** One room of a response; a field left undefined is left out (unchanged, or not set when `initial`). */
export interface EngineRoom {
  membership: string;
  initial: boolean;
  /** The timeline holds events sent before (its limit grew). */
  expandedTimeline?: boolean;
  name?: string;
  avatar?: string;
  heroes?: Hero[];
  isDm: boolean;
  requiredState?: ClientEvent[];
  timeline?: ClientEvent[];
  limited?: boolean;
  prevBatch?: string;
  numLive?: number;
  bumpStamp?: number;
  joinedCount?: number;
  invitedCount?: number;
  notificationCount: number;
  highlightCount: number;
  inviteState?: StrippedState[];
  /** The lists whose ranges hold the room. */
  lists: string[];
}

export interface EngineResult {
  pos: string;
  lists: Record<string, { count: number }>;
  rooms: Record<string, EngineRoom>;
  extensions: Record<string, unknown>;
}
