/**
 * No regular expression is built at run time in src/: a pattern built from client input can backtrack for ever
 * (a /sync filter once held the server for 55 s). Client patterns go through lib/glob.ts, which is linear.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@jest/globals';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

test('no RegExp constructor anywhere in src/', () => {
  const offenders = sourceFiles(SRC).filter((f) => /\bRegExp\s*\(/.test(readFileSync(f, 'utf8')));
  expect(offenders.map((f) => path.relative(SRC, f))).toEqual([]);
});
