/**
 * A hook that re-renders a component when the sdk reports a change that the chat shows: new events, decryptions
 * (a key that arrived), edits, redactions, receipts, typing, membership, names, local echo updates, sync states.
 * Bursts (an initial sync, a backfill) are folded into one render. A timer, not requestAnimationFrame: a tab in the
 * background gets no frames, and its title and unread counts should still follow.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';

const EVENTS = [
  'sync',
  'Room',
  'deleteRoom',
  'Room.timeline',
  'Room.timelineReset',
  'Room.redaction',
  'Room.redactionCancelled',
  'Room.receipt',
  'Room.localEchoUpdated',
  'Room.myMembership',
  'Room.name',
  'Room.UnreadNotifications',
  'RoomMember.typing',
  'RoomMember.name',
  'RoomMember.membership',
  'RoomState.members',
  'RoomState.events',
  'Event.decrypted',
  'Event.replaced',
];

export function useClientUpdate(client: MatrixClient): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let scheduled = false;
    const bump = () => {
      if (scheduled) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        setVersion((v) => v + 1);
      }, 30);
    };
    for (const e of EVENTS) client.on(e as never, bump as never);
    return () => {
      for (const e of EVENTS) client.off(e as never, bump as never);
    };
  }, [client]);
  return version;
}
