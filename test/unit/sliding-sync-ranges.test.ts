/**
 * A list's window (cutList, relay/sliding-sync/room-list.ts): the rooms its ranges index, in list order, each once,
 * whatever the ranges (overlapping, repeated, reversed, past the end), checked against the plain definition with
 * generated lists and ranges.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { cutList, type ListInputs } from '../../src/relay/sliding-sync/room-list.js';
import type { ListRoomRow } from '../../src/db/sliding-sync.js';
import type { ListParams } from '../../src/relay/sliding-sync/types.js';

const room = (i: number) => ({ roomId: `!r${i}:test.local`, membership: 'join' }) as unknown as ListRoomRow;
const inputs: ListInputs = { userId: '@u:test.local', since: undefined, rooms: [], directRooms: new Set(), tags: new Map(), spaceChildren: new Set() };

/** The definition: every index some range covers, below the list's length, ascending. */
function expected(n: number, ranges: [number, number][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (ranges.some(([from, to]) => from <= i && i <= to)) out.push(i);
  return out;
}

describe('cutList', () => {
  test('the window is the union of the ranges, in order, each room once', () => {
    const index = fc.oneof(fc.nat(40), fc.constant(Number.MAX_SAFE_INTEGER));
    fc.assert(
      fc.property(fc.nat(30), fc.array(fc.tuple(index, index), { maxLength: 12 }), (n, ranges) => {
        const ordered = Array.from({ length: n }, (_, i) => room(i));
        const list: ListParams = { ranges, filters: {}, requiredState: [], timelineLimit: 0 };
        const { count, window } = cutList(ordered, list, inputs);
        expect(count).toBe(n);
        expect(window).toEqual(expected(n, ranges).map((i) => ordered[i]));
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });

  test('a hundred ranges over the whole list give the list once', () => {
    const ordered = Array.from({ length: 5000 }, (_, i) => room(i));
    const ranges = Array.from({ length: 100 }, (): [number, number] => [0, Number.MAX_SAFE_INTEGER]);
    expect(cutList(ordered, { ranges, filters: {}, requiredState: [], timelineLimit: 0 }, inputs).window).toEqual(ordered);
  });
});
