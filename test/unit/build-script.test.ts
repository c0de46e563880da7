/**
 * scripts/build.mjs, which `npm start` runs first: it compiles only when what the build reads changed (by content,
 * not by modification time), leaves a failed build unmarked so the next start tries again, and rebuilds a dist/ cut
 * short by hand. Run as a process on a tiny project in a temporary folder, with the real TypeScript compiler.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/process.js';

const SCRIPT = join(PROJECT_ROOT, 'scripts', 'build.mjs');
const COMPILING = /Compiling TypeScript/;
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'securecomm-build-'));
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'dist', rootDir: '.', types: [] },
    include: ['src'],
  }));
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'] }));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(root, 'src', 'main.ts'), 'export const answer: number = 1;\n');
  writeFileSync(join(root, 'src', 'admin.ts'), 'export const admin = true;\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runBuild() {
  const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const output = () => readFileSync(join(root, 'dist', 'src', 'main.js'), 'utf8');

test('builds once, then starts without compiling until a source changes, also one with an old modification time', () => {
  const first = runBuild();
  expect(first.code).toBe(0);
  expect(first.stderr).toMatch(COMPILING);
  expect(output()).toContain('answer = 1');

  const again = runBuild();
  expect(again).toEqual({ code: 0, stderr: '', stdout: '' });

  // A changed file whose time is older than the last build (an unpacked archive, a copy keeping times) still counts.
  const file = join(root, 'src', 'main.ts');
  writeFileSync(file, 'export const answer: number = 2;\n');
  const old = new Date(Date.now() - 86_400_000);
  utimesSync(file, old, old);
  const changed = runBuild();
  expect(changed.code).toBe(0);
  expect(changed.stderr).toMatch(COMPILING);
  expect(output()).toContain('answer = 2');
  expect(runBuild().stderr).toBe('');

  // A new file, and the build configuration itself, count too.
  writeFileSync(join(root, 'src', 'extra.ts'), 'export const extra = 3;\n');
  expect(runBuild().stderr).toMatch(COMPILING);
  expect(readFileSync(join(root, 'dist', 'src', 'extra.js'), 'utf8')).toContain('extra = 3');
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'], compilerOptions: { removeComments: true } }));
  expect(runBuild().stderr).toMatch(COMPILING);
  expect(runBuild().stderr).toBe('');
}, 180_000);

test('a failed build is not marked built: the next start compiles again, and succeeds once the error is fixed', () => {
  const file = join(root, 'src', 'main.ts');
  writeFileSync(file, 'export const answer: number = "not a number";\n');
  const failed = runBuild();
  expect(failed.code).toBe(1);
  expect(failed.stdout + failed.stderr).toMatch(/TS2322/);
  expect(failed.stderr).toMatch(/Build failed/);
  const again = runBuild();
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(COMPILING);

  writeFileSync(file, 'export const answer: number = 4;\n');
  const fixed = runBuild();
  expect(fixed.code).toBe(0);
  expect(output()).toContain('answer = 4');
  expect(runBuild().stderr).toBe('');
}, 180_000);

test('a dist/ missing its entry point is built again, although the incremental state says it is current', () => {
  rmSync(join(root, 'dist', 'src', 'main.js'));
  const before = statSync(join(root, 'dist', 'src', 'admin.js')).mtimeMs;
  const rebuilt = runBuild();
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.stderr).toMatch(COMPILING);
  expect(output()).toContain('answer = 4');
  expect(statSync(join(root, 'dist', 'src', 'admin.js')).mtimeMs).toBeGreaterThanOrEqual(before);
}, 180_000);
