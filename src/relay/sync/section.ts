/**
 * What a /sync section is: one file per section (rooms.ts, account-data.ts, presence.ts, e2ee.ts) builds its part of
 * the response from its part of the snapshot (db/sync-snapshot.ts) plus whatever further reads it needs, and says
 * whether that part holds anything (a sync whose every section is empty waits for a wake). A new section is one new
 * file implementing SyncSection, its columns in db/sync-snapshot.ts, and its entry in sync.ts.
 */
import type { Hs, Requester } from '../../hs.js';
import type { SyncSnapshot } from '../../db/sync-snapshot.js';
import type { Filter } from '../filters.js';

/** One read of a /sync: the request and the snapshot every section builds from. */
export interface SyncRead {
  hs: Hs;
  requester: Requester;
  /** The client's position (at most the snapshot's head); undefined on an initial sync. */
  since: number | undefined;
  fullState: boolean;
  /** use_state_after: a room's state is the state at the end of its timeline, sent as `state_after`. */
  useStateAfter: boolean;
  filter: Filter;
  /** The last to-device message the client's token acknowledges. */
  toDeviceAck: number | undefined;
  /** Typing changes after `since` and up to `upTo` are delivered (the token's and the new token's typing positions). */
  typing: { since: number | undefined; upTo: number };
  /** Presence changes after `since` and up to `upTo` are delivered (every known one when since is undefined). */
  presence: { since: number | undefined; upTo: number };
  snapshot: SyncSnapshot;
}

export interface SyncSection<Part extends object> {
  build(read: SyncRead): Promise<Part>;
  isEmpty(part: Part): boolean;
}
