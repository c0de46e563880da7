/**
 * A hook that re-renders a component when the sdk reports a change that the chat shows: new events, decryptions
 * (a key that arrived), edits, redactions, receipts, typing, membership, names, local echo updates, sync states.
 * Bursts (an initial sync, a backfill) are folded into one render. A timer, not requestAnimationFrame: a tab in the
 * background gets no frames, and its title and unread counts should still follow.
 *
 * No change may fall between a render and the subscription. Right after a reload the first render shows messages
 * the sdk is still decrypting from its store ("Decrypting…"), and the decryptions finish a few milliseconds later.
 * A plain effect subscribes only after the browser has painted (83 to 208 ms after the render at load average 15
 * with the page's CPU throttled 4×, one or two decryptions finishing in between on every reload), so such an
 * `Event.decrypted` was lost and the message said "Decrypting…" until some other event came, possibly never. The
 * subscription is therefore a layout effect (Preact runs it in the same task as the render, before any sdk callback
 * can run), and the component renders once more right after subscribing, from what the sdk holds by then.
 */
import { useLayoutEffect, useState } from 'preact/hooks';
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
  useLayoutEffect(() => {
    let scheduled: ReturnType<typeof setTimeout> | undefined;
    const bump = () => {
      if (scheduled) return;
      scheduled = setTimeout(() => {
        scheduled = undefined;
        setVersion((v) => v + 1);
      }, 30);
    };
    for (const e of EVENTS) client.on(e as never, bump as never);
    // Whatever changed since this component's render was read is shown too.
    bump();
    return () => {
      for (const e of EVENTS) client.off(e as never, bump as never);
      clearTimeout(scheduled);
    };
  }, [client]);
  return version;
}
