/**
 * One room: its header (name, invite, members), the invite panel, the messages, who is typing and the composer.
 * Marks the room read while it is shown and the page is visible.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { MatrixEventEvent, type MatrixClient, type Room } from 'matrix-js-sdk';
import { useClientUpdate } from '../chat/use-client-update';
import { buildTimeline, chainEvents, type MessageView } from '../chat/timeline-model';
import { canLoadOlder, deleteEvent, loadOlder, markRead, react } from '../chat/actions';
import { InvitePanel } from './InvitePanel';
import { Timeline } from './Timeline';
import { TypingIndicator } from './TypingIndicator';
import { Composer, type ComposerMode } from './Composer';
import { MemberList } from './MemberList';
import { LockIcon } from './LockIcon';

interface Props {
  client: MatrixClient;
  room: Room;
  showInvite: boolean;
  onToggleInvite(): void;
  roomsOpen: boolean;
  onToggleRooms(): void;
}

export function RoomView({ client, room, showInvite, onToggleInvite, roomsOpen, onToggleRooms }: Props) {
  const version = useClientUpdate(client);
  const me = client.getSafeUserId();
  const [loading, setLoading] = useState(false);
  const [decrypted, setDecrypted] = useState(0);
  // Rebuilt on the sdk's events, when a shown event is decrypted, and when a load of older messages ends: a
  // back-pagination that meets events the client already holds only links two timelines into one chain, which the
  // sdk reports with no event at all.
  const items = useMemo(() => buildTimeline(room, me), [room, me, version, loading, decrypted]);
  // A decryption is heard on the event itself, not only on the client: the sdk's event mapper stops re-emitting
  // `Event.decrypted` to the client for the rest of a /messages page once it meets an event it already holds
  // (matrix-js-sdk 43, event-mapper.js), so after a reload older messages said "Decrypting…" until the next sync,
  // up to 30 s later. A layout effect: subscribed in the same task as the render that read the events.
  useLayoutEffect(() => {
    const undecided = chainEvents(room).filter((ev) => ev.isEncrypted() && (ev.isBeingDecrypted() || ev.isDecryptionFailure() || ev.shouldAttemptDecryption()));
    if (undecided.length === 0) return;
    const again = () => setDecrypted((n) => n + 1);
    for (const ev of undecided) ev.on(MatrixEventEvent.Decrypted, again);
    return () => {
      for (const ev of undecided) ev.off(MatrixEventEvent.Decrypted, again);
    };
  }, [room, items]);
  const [mode, setMode] = useState<ComposerMode>({ kind: 'new' });
  const [showMembers, setShowMembers] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const read = () => {
      if (document.visibilityState === 'visible') markRead(client, room.roomId);
    };
    read();
    document.addEventListener('visibilitychange', read);
    return () => document.removeEventListener('visibilitychange', read);
  }, [client, room, version]);

  // Fill the view: after a reload (or a long absence) the timeline may begin with a gap; load older messages until
  // there are enough to read, or nothing older.
  const loadingNow = useRef(false);
  const older = async () => {
    if (loadingNow.current) return;
    loadingNow.current = true;
    setLoading(true);
    try {
      await loadOlder(client, room);
    } catch (err) {
      fail(err);
    } finally {
      loadingNow.current = false;
      setLoading(false);
    }
  };
  const messageCount = items.filter((i) => i.kind === 'message').length;
  const hasOlder = canLoadOlder(room);
  useEffect(() => {
    if (messageCount < 30 && hasOlder) void older();
  }, [messageCount, hasOlder, loading, version]);

  const fail = (err: unknown) => setError(`Could not do that: ${(err as Error).message}`);
  const onAction = {
    reply: (m: MessageView) => setMode({ kind: 'reply', to: m }),
    edit: (m: MessageView) => setMode({ kind: 'edit', of: m }),
    remove: (m: MessageView) => deleteEvent(client, room.roomId, m.id).catch(fail),
    react: (m: MessageView, key: string) => {
      const existing = m.reactions.find((r) => r.key === key)?.mine;
      (existing ? deleteEvent(client, room.roomId, existing) : react(client, room.roomId, m.id, key)).catch(fail);
    },
  };
  const memberCount = room.getJoinedMemberCount();

  return (
    <div class={`room-area ${showMembers ? 'with-members' : ''}`}>
      <main class="room" aria-labelledby="room-title">
        <header class="room-header">
          <button type="button" class="rooms-toggle" aria-controls="room-list" aria-expanded={roomsOpen} onClick={onToggleRooms}>
            Rooms
          </button>
          <h1 id="room-title" class="room-title">
            <LockIcon />
            {room.name}
            <span class="visually-hidden"> (end-to-end encrypted)</span>
          </h1>
          <button type="button" aria-expanded={showInvite} onClick={onToggleInvite}>
            Invite
          </button>
          <button type="button" aria-expanded={showMembers} aria-controls="members" onClick={() => setShowMembers(!showMembers)}>
            Members ({memberCount})
          </button>
        </header>
        {showInvite && <InvitePanel roomId={room.roomId} onClose={onToggleInvite} />}
        <Timeline items={items} onAction={onAction} older={hasOlder ? { loading, load: older } : undefined} />
        {error && (
          <p class="error" role="alert">
            {error}{' '}
            <button type="button" class="link-button" onClick={() => setError(undefined)}>
              Dismiss
            </button>
          </p>
        )}
        <TypingIndicator room={room} me={me} />
        <Composer client={client} roomId={room.roomId} mode={mode} onDone={() => setMode({ kind: 'new' })} onError={fail} />
      </main>
      {showMembers && (
        <div id="members">
          <MemberList room={room} me={me} />
        </div>
      )}
    </div>
  );
}
