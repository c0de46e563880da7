/** The presence manager without a database: positions, what a sync may change, and the offline timeout. */
import { afterEach, describe, expect, test } from '@jest/globals';
import { createPresenceManager, type PresenceManager } from '../../src/relay/ephemeral/presence.js';

const managers: PresenceManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

async function manager(offlineAfterMs = 60_000, enabled = true) {
  const changes: string[] = [];
  const m = await createPresenceManager(enabled, (u) => changes.push(u), undefined, offlineAfterMs);
  managers.push(m);
  return { m, changes };
}

describe('presence manager', () => {
  test('visible changes get rising positions; a refresh that changes nothing gets none and wakes no one', async () => {
    const { m, changes } = await manager();
    await m.syncing('@a:x', 'online', 0);
    const p1 = m.position();
    expect(m.get('@a:x')).toMatchObject({ presence: 'online', pos: p1 });
    await m.syncing('@a:x', 'online', 0);
    expect(m.position()).toBe(p1);
    await m.set('@a:x', 'online', 'lunch');
    expect(m.position()).toBeGreaterThan(p1);
    expect(changes).toEqual(['@a:x', '@a:x']);
    expect(m.changedIn(p1, m.position())).toEqual(['@a:x']);
    expect(m.changedIn(m.position(), m.position())).toEqual([]);
    expect(m.changedIn(undefined, m.position())).toEqual(['@a:x']);
  });

  test('a sync brings an offline user online but never overrides an explicit unavailable; set_presence unavailable idles', async () => {
    const { m } = await manager();
    await m.set('@a:x', 'unavailable', undefined);
    await m.syncing('@a:x', 'online', 0);
    expect(m.get('@a:x')?.presence).toBe('unavailable');
    await m.set('@b:x', 'offline', undefined);
    await m.syncing('@b:x', 'online', 0);
    expect(m.get('@b:x')?.presence).toBe('online');
    await m.syncing('@b:x', 'unavailable', 0);
    expect(m.get('@b:x')?.presence).toBe('unavailable');
  });

  test('a user who stops syncing goes offline after the timeout (keeping the status message), and that is a change', async () => {
    const { m, changes } = await manager(150);
    await m.set('@a:x', 'online', 'in a meeting');
    const before = m.position();
    await new Promise((r) => setTimeout(r, 400));
    expect(m.get('@a:x')).toMatchObject({ presence: 'offline', statusMsg: 'in a meeting' });
    expect(m.position()).toBeGreaterThan(before);
    expect(changes).toEqual(['@a:x', '@a:x']);
  });

  test('a long-poll keeps the user online for its whole length', async () => {
    const { m } = await manager(100);
    await m.syncing('@a:x', 'online', 400);
    await new Promise((r) => setTimeout(r, 300));
    expect(m.get('@a:x')?.presence).toBe('online');
  });

  test('off: nothing is kept', async () => {
    const { m, changes } = await manager(60_000, false);
    await m.set('@a:x', 'online', 'hello');
    await m.syncing('@a:x', 'online', 0);
    expect([m.get('@a:x'), m.position(), changes]).toEqual([undefined, 0, []]);
  });
});
