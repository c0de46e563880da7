/**
 * What a running bot does with what its sync brings: logs the sync's state changes (and keeps the sync store on
 * disk after each sync), joins rooms it is invited to, and hands decrypted messages from others to the handler.
 * Each function subscribes to the client; `stopping` tells it that the bot is shutting down.
 */
import {
  ClientEvent,
  MatrixEventEvent,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type IContent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from 'matrix-js-sdk';
import { BotError } from './config.js';
import type { BotLogger } from './log.js';

type Stopping = () => boolean;

/** Sync state: the sdk retries a failed /sync itself, with backoff, until the server answers again. */
export function logSyncState(client: MatrixClient, log: BotLogger, saveStore: () => Promise<void>, stopping: Stopping): void {
  let lastState: SyncState | null = null;
  client.on(ClientEvent.Sync, (state, _prev, data) => {
    if (state !== lastState) {
      if (state === SyncState.Reconnecting || state === SyncState.Error) log.warn(`sync ${state.toLowerCase()}: ${data?.error?.message ?? 'connection lost'}; retrying`);
      else if (lastState === SyncState.Reconnecting || lastState === SyncState.Error) log.info(`sync ${state.toLowerCase()}: connection back`);
      lastState = state;
    }
    // Keep the sync position (and rooms) on disk after every sync: a restart resumes where this one stopped.
    if ((state === SyncState.Syncing || state === SyncState.Prepared) && !stopping()) saveStore().catch((err: unknown) => log.warn(`saving the sync store failed: ${(err as Error).message}`));
  });
}

/** Resolves after the client's first sync (from the cache or the server); rejects after `timeoutMs` without one. */
export function firstSync(client: MatrixClient, homeserverUrl: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      client.off(ClientEvent.Sync, onSync);
      rejectReady(new BotError('timeout', `no sync with ${homeserverUrl} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onSync = (state: SyncState) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        resolveReady();
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
}

/** Invites: `accept` decides; accepted ones are joined (a few tries, with backoff, in case the server is briefly away). */
export function joinInvites(
  client: MatrixClient,
  userId: string,
  log: BotLogger,
  accept: (roomId: string, inviter: string | undefined) => boolean | Promise<boolean>,
  stopping: Stopping,
): void {
  const joining = new Set<string>();
  client.on(RoomMemberEvent.Membership, (event, member) => {
    if (member.userId !== userId || member.membership !== 'invite' || joining.has(member.roomId) || stopping()) return;
    joining.add(member.roomId);
    void (async () => {
      try {
        if (!(await accept(member.roomId, event.getSender()))) return;
        for (let attempt = 1; ; attempt++) {
          try {
            await client.joinRoom(member.roomId);
            log.info(`joined ${member.roomId} (invited by ${event.getSender()})`);
            return;
          } catch (err) {
            if (attempt >= 5 || stopping()) throw err;
            await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt).unref());
          }
        }
      } catch (err) {
        log.warn(`could not join ${member.roomId}: ${(err as Error).message}`);
      } finally {
        joining.delete(member.roomId);
      }
    })();
  });
}

export interface ReceivedMessage {
  room: Room;
  event: MatrixEvent;
  sender: string;
  /** The decrypted content: body, msgtype, ... */
  content: IContent;
  body: string;
  msgtype: string;
}

/**
 * Messages: live timeline events from others (not those replayed from the cache at start-up), once decrypted.
 * Returns the function that abandons the waits for room keys still on their way (called when the bot stops).
 */
export function deliverMessages(
  client: MatrixClient,
  userId: string,
  log: BotLogger,
  onMessage: (msg: ReceivedMessage) => void | Promise<void>,
  stopping: Stopping,
): () => void {
  const abandon = new Set<() => void>();

  async function decrypted(event: MatrixEvent): Promise<boolean> {
    if (!event.isEncrypted()) return true;
    await client.decryptEventIfNeeded(event);
    if (!event.isDecryptionFailure()) return true;
    // The room key may still be on its way: the sdk retries the decryption when it arrives.
    return new Promise<boolean>((resolveDecrypted) => {
      const onDecrypted = () => {
        if (event.isDecryptionFailure()) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        event.off(MatrixEventEvent.Decrypted, onDecrypted);
        abandon.delete(cancel);
        resolveDecrypted(ok);
      };
      const cancel = () => finish(false);
      abandon.add(cancel);
      event.on(MatrixEventEvent.Decrypted, onDecrypted);
    });
  }

  async function dispatch(event: MatrixEvent, room: Room): Promise<void> {
    try {
      if (!(await decrypted(event))) return;
      if (event.getType() !== 'm.room.message' || event.isRedacted()) return;
      const content = event.getContent();
      if (typeof content.body !== 'string') return;
      await onMessage({ room, event, sender: event.getSender()!, content, body: content.body, msgtype: String(content.msgtype ?? '') });
    } catch (err) {
      log.error(`handling ${event.getId()} in ${room.roomId} failed: ${(err as Error).message}`);
    }
  }

  client.on(RoomEvent.Timeline, (event, room, toStartOfTimeline, removed, data) => {
    if (!room || toStartOfTimeline || removed || !data.liveEvent || stopping()) return;
    if (event.getSender() === userId) return;
    void dispatch(event, room);
  });
  return () => {
    for (const cancel of abandon) cancel();
  };
}
