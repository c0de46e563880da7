/** The bounded LRU behind the per-process caches, and the room state cache's copies and frozen rows. */
import { describe, expect, test } from '@jest/globals';
import { Lru } from '../../src/lib/lru.js';
import { createRoomStateCache } from '../../src/relay/rooms/state-cache.js';
import type { EventRow } from '../../src/db/events.js';

describe('Lru', () => {
  test('evicts the least recently used entry beyond its size; a read makes an entry recent', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
    expect(lru.size).toBe(2);
  });

  test('bounded by total weight too; a value heavier than the budget is not kept; replacing re-weighs', () => {
    const lru = new Lru<string, string>(10, 5);
    lru.set('a', 'x', 3);
    lru.set('b', 'y', 2);
    expect(lru.totalWeight).toBe(5);
    lru.set('c', 'z', 1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.totalWeight).toBe(3);
    lru.set('huge', 'w', 6);
    expect(lru.get('huge')).toBeUndefined();
    lru.set('b', 'y2', 1);
    expect(lru.totalWeight).toBe(2);
    lru.delete('b');
    lru.delete('missing');
    expect([lru.size, lru.totalWeight]).toEqual([1, 1]);
  });
});

describe('the room state cache', () => {
  const row = (eventId: string, content: Record<string, unknown>) =>
    ({ streamPos: 1, eventId, roomId: '!r:x', type: 'm.room.member', stateKey: '@u:x', sender: '@u:x', originServerTs: 0, depth: 1, content, prevEvents: [], unsigned: {}, redacts: null }) as EventRow;

  test('a lookup matches only the head it was remembered at, and gives each writer its own map of frozen rows', () => {
    const cache = createRoomStateCache();
    cache.remember('!r:x', '$head', new Map([['k', row('$e', { membership: 'join', nested: { a: 1 } })]]));
    expect(cache.take('!r:x', '$other')).toBeUndefined();
    const mine = cache.take('!r:x', '$head')!;
    mine.set('k', row('$f', { membership: 'ban' }));
    const again = cache.take('!r:x', '$head')!;
    expect(again.get('k')!.eventId).toBe('$e');
    expect(() => {
      (again.get('k')!.content.nested as { a: number }).a = 2;
    }).toThrow(TypeError);
    expect(cache.stats).toEqual({ hits: 2, misses: 1 });
    cache.forget('!r:x');
    expect(cache.take('!r:x', '$head')).toBeUndefined();
  });
});
