/**
 * createLimiter (src/lib/concurrency.ts): at most `max` tasks run at once, the others start in the order they came
 * as slots free up, and a task that fails frees its slot too.
 */
import { describe, expect, test } from '@jest/globals';
import { createLimiter } from '../../src/lib/concurrency.js';

/** A task the test finishes by hand. */
function gate() {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createLimiter', () => {
  test('runs at most max at once, the rest in arrival order; a failure frees its slot', async () => {
    const limiter = createLimiter(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const results = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.done;
        return i;
      }),
    );
    await settle();
    expect([started, limiter.running, limiter.waiting]).toEqual([[0, 1], 2, 3]);
    gates[1].fail(new Error('no'));
    await expect(results[1]).rejects.toThrow('no');
    await settle();
    expect([started, limiter.running, limiter.waiting]).toEqual([[0, 1, 2], 2, 2]);
    gates[0].open();
    gates[2].open();
    await settle();
    expect([started, limiter.running, limiter.waiting]).toEqual([[0, 1, 2, 3, 4], 2, 0]);
    gates[3].open();
    gates[4].open();
    expect(await Promise.all([results[0], results[2], results[3], results[4]])).toEqual([0, 2, 3, 4]);
    expect([limiter.running, limiter.waiting]).toEqual([0, 0]);
  });

  test('a task that throws at once frees its slot', async () => {
    const limiter = createLimiter(1);
    await expect(limiter.run(() => { throw new Error('sync'); })).rejects.toThrow('sync');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.running).toBe(0);
  });

  test('max must be a whole number of at least 1', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => createLimiter(max)).toThrow();
  });
});
