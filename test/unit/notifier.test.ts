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

  // Shutdown: a /sync that waits on a listener kept for its device's next poll, closed by notifier.close(), or that
  // listens after it, must answer at once, not hold the request (and the server's stop) for its timeout. Each wait
  // here is 10 minutes, far beyond the test's timeout: the test only passes if it resolves without waiting.
  test('a closed listener never waits', async () => {
    const n = await createNotifier();
    const l = n.listen([userKey('@a:x')]);
    l.close();
    await expect(l.wait(600_000)).resolves.toBe(false);
  });

  test('after the notifier closed, listeners of a kept poll and new ones answer at once', async () => {
    const n = await createNotifier();
    const kept = n.listen([userKey('@a:x')]);
    await n.close();
    await expect(kept.wait(600_000)).resolves.toBe(false);
    const late = n.listen([userKey('@a:x')]);
    await expect(late.wait(600_000)).resolves.toBe(false);
    expect(n.size()).toBe(0);
  });
});
