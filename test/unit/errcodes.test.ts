/** Errcodes have one home (src/errors.ts): everything else throws a factory or names a code from Codes. */
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Codes, MatrixError, unknownError, badJson, guestForbidden, wrongRoomKeysVersion } from '../../src/errors.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('errcodes', () => {
  test('no source file outside errors.ts spells an errcode or builds a raw MatrixError', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      if (file === path.join(SRC, 'errors.ts')) continue;
      const text = readFileSync(file, 'utf8');
      for (const [i, line] of text.split('\n').entries()) {
        if (/['"`]M_[A-Z_]+['"`]/.test(line) || line.includes('new MatrixError(')) offenders.push(`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('every code is its own name with M_ in front', () => {
    for (const [name, code] of Object.entries(Codes)) expect(code).toBe(`M_${name}`);
  });

  test('factories with a status or extra fields', () => {
    expect(unknownError()).toMatchObject({ status: 500, errcode: 'M_UNKNOWN' });
    expect(unknownError(409, 'taken')).toMatchObject({ status: 409, errcode: 'M_UNKNOWN', message: 'taken' });
    expect(badJson('no', 405)).toMatchObject({ status: 405, errcode: 'M_BAD_JSON' });
    expect(guestForbidden().message).toMatch(/Guest accounts/);
    expect(wrongRoomKeysVersion(3).body()).toEqual({ errcode: 'M_WRONG_ROOM_KEYS_VERSION', error: 'That is not the current backup version.', current_version: '3' });
    expect(wrongRoomKeysVersion(undefined).body()).not.toHaveProperty('current_version');
    expect(new MatrixError(403, Codes.FORBIDDEN, 'x').body()).toEqual({ errcode: 'M_FORBIDDEN', error: 'x' });
  });
});
