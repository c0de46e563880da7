/** Wakes named by cause (relay/wakes.ts): each cause wakes exactly the long-polls it names; a batch sends once, after commit. */
import { describe, expect, test } from '@jest/globals';
import { createNotifier, roomKey, userKey } from '../../src/relay/notifier.js';
import {
  WakeBatch,
  onAccountData,
  onDeviceListChange,
  onMembershipChange,
  onNewRoomEvent,
  onNewToDevice,
  onReceipt,
  onTypingChange,
  type Waker,
} from '../../src/relay/wakes.js';

/** The keys each call hands to the notifier. */
function recorder(): Waker & { calls: string[][] } {
  const calls: string[][] = [];
  return { calls, wake: (keys) => void calls.push([...keys]) };
}

describe('each cause wakes whom it names', () => {
  test.each<[string, (w: Waker) => void, string[]]>([
    ['a new room event: the room', (w) => onNewRoomEvent(w, '!r:x'), [roomKey('!r:x')]],
    ['a membership change: the member', (w) => onMembershipChange(w, '@a:x'), [userKey('@a:x')]],
    ['to-device messages: each recipient', (w) => onNewToDevice(w, new Set(['@a:x', '@b:x'])), [userKey('@a:x'), userKey('@b:x')]],
    ['a device list change: each watcher', (w) => onDeviceListChange(w, ['@a:x', '@c:x']), [userKey('@a:x'), userKey('@c:x')]],
    ['account data: its user', (w) => onAccountData(w, '@a:x'), [userKey('@a:x')]],
    ['a public receipt: the room', (w) => onReceipt(w, { roomId: '!r:x', userId: '@a:x', isPrivate: false }), [roomKey('!r:x')]],
    ['a private receipt: only its user', (w) => onReceipt(w, { roomId: '!r:x', userId: '@a:x', isPrivate: true }), [userKey('@a:x')]],
    ['typing: the room', (w) => onTypingChange(w, '!r:x'), [roomKey('!r:x')]],
  ])('%s', (_, cause, keys) => {
    const w = recorder();
    cause(w);
    expect(w.calls).toEqual([keys]);
  });
});

describe('WakeBatch', () => {
  test('gathers causes and sends them in one wake, each key once', () => {
    const batch = new WakeBatch();
    onNewRoomEvent(batch, '!r:x');
    onMembershipChange(batch, '@a:x');
    onNewRoomEvent(batch, '!r:x');
    const w = recorder();
    batch.send(w);
    expect(w.calls).toEqual([[roomKey('!r:x'), userKey('@a:x')]]);
  });

  test('an empty batch wakes nobody', () => {
    const w = recorder();
    new WakeBatch().send(w);
    expect(w.calls).toEqual([]);
  });

  test('through a notifier: the listener of the room wakes, the other does not', async () => {
    const n = await createNotifier();
    const inRoom = n.listen([roomKey('!r:x')]);
    const elsewhere = n.listen([userKey('@z:x')]);
    const batch = new WakeBatch();
    onNewRoomEvent(batch, '!r:x');
    batch.send(n);
    await expect(inRoom.wait(10_000)).resolves.toBe(true);
    await expect(elsewhere.wait(20)).resolves.toBe(false);
    await n.close();
  });
});
