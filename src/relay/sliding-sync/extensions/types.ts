/**
 * What a sliding-sync extension is: one file per extension builds its part of the response from the request's
 * parameters for it and the response's scope (index.ts), and says whether that part holds anything (a response
 * whose rooms and extensions are all empty waits for a wake).
 */
import type { Hs, Requester } from '../../../hs.js';
import type { ExtensionsSnapshot } from '../../../db/sliding-sync-extensions.js';

export interface ExtensionScope {
  hs: Hs;
  requester: Requester;
  /** Stream position of the client's pos; undefined on a new connection. */
  since: number | undefined;
  /** The watermark this response reads to. */
  upTo: number;
  /** Typing changes after `since` and up to `upTo` are delivered (typing positions live in memory, outside the stream). */
  typing: { since: number | undefined; upTo: number };
  /** List name -> room ids in its ranges. */
  listRooms: Map<string, string[]>;
  /** The room ids of the request's room subscriptions that the response covers. */
  subscribedRooms: string[];
  /**
   * Optional: rooms this response sends from scratch (`initial: true`: new to the connection, or sent again in full).
   * Room-scoped extensions give them everything current (all room account data, all receipts, who is typing), as on a
   * new connection, not only what changed since `since`.
   */
  initialRooms?: ReadonlySet<string>;
  /**
   * Optional: per room extension, the rooms that entered its scope since the client's pos (scope-changes.ts), with the
   * stream position up to which the client has that extension's data of the room (undefined: none, or typing, which
   * is not on the stream: everything current is sent). They get what changed after that position, not after `since`.
   */
  entered?: { [K in 'receipts' | 'account_data' | 'typing']?: ReadonlyMap<string, number | undefined> };
}

/** What a builder gets: the scope, and the read's one statement (db/sliding-sync-extensions.ts). */
export interface ExtensionContext extends ExtensionScope {
  snapshot: ExtensionsSnapshot;
}

export interface ExtensionBuilder<Request, Part> {
  build(ctx: ExtensionContext, request: Request): Promise<Part>;
  isEmpty(part: Part): boolean;
}
