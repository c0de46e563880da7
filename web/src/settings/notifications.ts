/**
 * Browser notifications for new messages while the tab is hidden: the person turns them on (the browser asks for
 * permission), the choice is kept in localStorage, and a listener on the sdk's timeline shows a notification for
 * each new message from someone else (its decrypted text stays in this browser: the notification is local).
 */
import type { MatrixClient, MatrixEvent, Room } from 'matrix-js-sdk';

const KEY = 'securecomm.notifications';

export function notificationsSupported(): boolean {
  return typeof Notification !== 'undefined';
}

export function notificationsOn(): boolean {
  return notificationsSupported() && Notification.permission === 'granted' && localStorage.getItem(KEY) === 'on';
}

export async function turnNotificationsOn(): Promise<boolean> {
  if (!notificationsSupported()) return false;
  const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (permission !== 'granted') return false;
  localStorage.setItem(KEY, 'on');
  return true;
}

export function turnNotificationsOff(): void {
  localStorage.setItem(KEY, 'off');
}

/** Notifies of new messages from others while the page is hidden; returns the function that stops it. */
export function notifyNewMessages(client: MatrixClient): () => void {
  const onTimeline = (ev: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined, _removed: boolean, data: { liveEvent?: boolean }) => {
    if (toStartOfTimeline || !data?.liveEvent || !room || !notificationsOn() || document.visibilityState === 'visible') return;
    if (ev.getSender() === client.getUserId()) return;
    const show = () => {
      if (ev.getType() !== 'm.room.message' || (ev.getContent()['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace') return;
      const who = room.getMember(ev.getSender() ?? '')?.name ?? ev.getSender();
      const body = String(ev.getContent().body ?? 'New message');
      const n = new Notification(room.name, { body: `${who}: ${body}`, tag: ev.getId() ?? undefined });
      n.onclick = () => window.focus();
    };
    if (ev.isBeingDecrypted() || ev.getType() === 'm.room.encrypted') ev.once('Event.decrypted' as never, show as never);
    else show();
  };
  client.on('Room.timeline' as never, onTimeline as never);
  return () => client.off('Room.timeline' as never, onTimeline as never);
}
