/**
 * lib/glob.ts against a reference matcher (dynamic programming over pattern and text, obviously right), on random
 * patterns and texts from a small alphabet where wildcards interact most, and its time on the worst patterns.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { globMatches } from '../../src/lib/glob.js';

/** match[i][j]: pattern[i..] matches text[j..]. */
function referenceMatches(pattern: string, text: string): boolean {
  const p = [...pattern];
  const t = [...text];
  let next = new Array<boolean>(t.length + 1).fill(false);
  next[t.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    const row = new Array<boolean>(t.length + 1).fill(false);
    for (let j = t.length; j >= 0; j--) {
      row[j] = p[i] === '*' ? next[j] || (j < t.length && row[j + 1]) : j < t.length && p[i] === t[j] && next[j + 1];
    }
    next = row;
  }
  return next[0];
}

const SEED = 1212;

describe('globMatches', () => {
  test('agrees with the reference on random patterns and texts', () => {
    const chars = fc.constantFrom('a', 'b', '*', '.');
    const texts = fc.constantFrom('a', 'b', '.', '*');
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 12 }), fc.string({ unit: texts, maxLength: 16 }), (pattern, text) => {
        expect(globMatches(pattern, text)).toBe(referenceMatches(pattern, text));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  test('agrees with the reference on texts built to match a pattern', () => {
    // A pattern, then a text made from it by filling each * with random text: always a match.
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'ab'), maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.array(fc.string({ maxLength: 5 }), { minLength: 6, maxLength: 6 }), (pieces, fills) => {
        const pattern = pieces.join('*');
        const text = pieces.map((p, i) => (i === 0 ? p : fills[i - 1].replace(/\*/g, '') + p)).join('');
        expect(globMatches(pattern, text)).toBe(true);
        expect(referenceMatches(pattern, text)).toBe(true);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  test.each([
    ['m.room.*', 'm.room.message', true],
    ['m.room.*', 'm.reaction', false],
    ['*', '', true],
    ['**', 'x', true],
    ['a*', 'a', true],
    ['*a', 'a', true],
    ['a*a', 'a', false],
    ['m.*.encrypted', 'm.room.encrypted', true],
    ['.', 'x', false],
    ['m?room', 'm?room', true],
    ['m?room', 'mxroom', false],
    ['[a-z]*', '[a-z]x', true],
    ['(a+)+*', '(a+)+', true],
  ])('%j against %j is %j (only * is a wildcard)', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });

  test('the worst patterns take linear time', () => {
    const text = 'a'.repeat(100_000);
    const worst = ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', `*${'a'.repeat(5000)}b*`, `${'*a'.repeat(5000)}*b`, `*${'a'.repeat(99_999)}b`];
    for (const pattern of worst) {
      const started = process.hrtime.bigint();
      expect(globMatches(pattern, text)).toBe(false);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A backtracking matcher takes minutes on these; a linear one well under a second even on a loaded machine.
      expect(ms).toBeLessThan(1000);
    }
  });
});
