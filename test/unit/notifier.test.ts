import { describe, expect, test } from '@jest/globals';
import { createNotifier, roomKey, userKey } from '../../src/relay/notifier.js';

describe('in-process notifier', () => {
  test('a wake before wait is not lost', async () => {
    const n = await createNotifier();
    const l = n.listen([userKey('@a:x')]);
    n.wake([userKey('@a:x')]);
    await expect(l.wait(10_000)).resolves.toBe(true);
    l.close();
    expect(n.size()).toBe(0);
  });

  test('wakes only listeners of the keys woken', async () => {
    const n = await createNotifier();
    const a = n.listen([userKey('@a:x'), roomKey('!r:x')]);
    const b = n.listen([userKey('@b:x')]);
    const waitingA = a.wait(10_000);
    n.wake([roomKey('!r:x')]);
    await expect(waitingA).resolves.toBe(true);
    await expect(b.wait(20)).resolves.toBe(false);
    a.close();
    b.close();
    expect(n.size()).toBe(0);
  });

  test('close resolves a waiting listener with false', async () => {
    const n = await createNotifier();
    const l = n.listen([userKey('@a:x')]);
    const waiting = l.wait(60_000);
    l.close();
    await expect(waiting).resolves.toBe(false);
  });
});
