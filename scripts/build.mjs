/**
 * Builds dist/ only when the sources changed, so that `npm start` on a built checkout starts at once instead of
 * running the TypeScript compiler every time (seconds idle, a minute on a busy machine).
 *
 * The decision is a fingerprint of what the build reads: every file under the folders tsconfig.build.json includes,
 * both tsconfig files, package.json and the installed dependencies (node_modules/.package-lock.json, which npm
 * rewrites on every install: new type definitions can change the output). Contents, not modification times, so a
 * checkout, a copy or an unpacked archive with old times is never taken for built. After a successful build the
 * fingerprint is written to dist/.build-fingerprint; a failed build writes nothing, so the next start tries again.
 * tsc runs with --incremental (its state in dist/, removed with it), so a rebuild after a small change is quicker too.
 *
 * The web client (web/, issue 17) is a second build with its own fingerprint: Vite bundles it into dist/web/ when
 * anything under web/, package.json or the installed dependencies changed, so a change to the server alone does not
 * rebuild the page, and the reverse.
 *
 * Plain JavaScript with no dependencies: it runs before anything is compiled, right after `npm install`.
 *   node scripts/build.mjs [DIR]          build DIR (default: this checkout) if its sources changed; quiet when not
 *   node scripts/build.mjs --force [DIR]  build anyway
 *   node scripts/build.mjs --web [DIR]    only the web client (tests that drive a browser)
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FINGERPRINT = '.build-fingerprint';
const BUILD_INFO = '.tsbuildinfo';
/** What a build must have produced for the fingerprint to be trusted (a dist/ cut short by hand is rebuilt). */
const ENTRY_POINTS = ['src/main.js', 'src/admin.js'];
/** Read besides the included folders. */
const ALSO_READ = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'node_modules/.package-lock.json'];

function filesUnder(root, dir, out) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) filesUnder(root, rel, out);
    else if (e.isFile()) out.push(rel);
  }
}

/** The folders the build compiles: tsconfig.build.json's "include" (plain JSON, no comments). */
function includedFolders(root) {
  const config = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'));
  return (config.include ?? []).map((p) => String(p).replace(/\/+$/, ''));
}

/** A hash over the names and contents of the files under `folders` and of the `alsoRead` files that exist. */
function fingerprintOf(root, folders, alsoRead) {
  const files = [];
  for (const dir of folders) filesUnder(root, dir, files);
  for (const f of alsoRead) if (existsSync(join(root, f))) files.push(f);
  files.sort();
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(f).update('\0');
    hash.update(readFileSync(join(root, f))).update('\0');
  }
  return hash.digest('hex');
}

/** A hash over the names and contents of everything the build reads. */
export function sourceFingerprint(root) {
  return fingerprintOf(root, includedFolders(root), ALSO_READ);
}

function outDir(root) {
  return join(root, 'dist');
}

/** Whether dist/ was built from exactly these sources. */
export function isBuilt(root, fingerprint = sourceFingerprint(root)) {
  const out = outDir(root);
  if (!ENTRY_POINTS.every((f) => existsSync(join(out, f)))) return false;
  try {
    return readFileSync(join(out, FINGERPRINT), 'utf8').trim() === fingerprint;
  } catch {
    return false;
  }
}

/**
 * Builds `root` unless it is built from its current sources. Returns 'up to date', 'built' or 'failed' (tsc's own
 * messages went to stderr).
 */
export function build(root, { force = false } = {}) {
  const fingerprint = sourceFingerprint(root);
  if (!force && isBuilt(root, fingerprint)) return 'up to date';
  console.error(force ? 'Compiling TypeScript...' : 'Compiling TypeScript (the sources changed since the last build)...');
  const out = outDir(root);
  rmSync(join(out, FINGERPRINT), { force: true });
  // tsc --incremental trusts its state file and does not check that its outputs still exist.
  if (!ENTRY_POINTS.every((f) => existsSync(join(out, f)))) rmSync(join(out, BUILD_INFO), { force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', join(out, BUILD_INFO)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) return 'failed';
  writeFileSync(join(out, FINGERPRINT), `${fingerprint}\n`);
  return 'built';
}

/** The web client's fingerprint: everything under web/ and what the server build also reads of the dependencies. */
export function webFingerprint(root) {
  return fingerprintOf(root, ['web'], ['package.json', 'node_modules/.package-lock.json']);
}

/** Builds the web client into dist/web/ unless it is built from these sources: 'up to date', 'built', 'failed' or 'absent'. */
export function buildWeb(root, { force = false } = {}) {
  if (!existsSync(join(root, 'web', 'index.html'))) return 'absent';
  const out = join(root, 'dist', 'web');
  const fingerprint = webFingerprint(root);
  const stamp = join(root, 'dist', '.web-build-fingerprint');
  if (!force && existsSync(join(out, 'index.html'))) {
    try {
      if (readFileSync(stamp, 'utf8').trim() === fingerprint) return 'up to date';
    } catch {
      /* not built yet */
    }
  }
  console.error('Building the web client (web/ changed since the last build)...');
  rmSync(stamp, { force: true });
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'web', 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) return 'failed';
  writeFileSync(stamp, `${fingerprint}\n`);
  return 'built';
}

const isEntryPoint = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntryPoint) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  const root = dir ? resolve(dir) : resolve(fileURLToPath(new URL('..', import.meta.url)));
  const force = args.includes('--force');
  if (!args.includes('--web') && build(root, { force }) === 'failed') {
    console.error('Build failed: see the TypeScript errors above.');
    process.exit(1);
  }
  if (buildWeb(root, { force }) === 'failed') {
    console.error('The web client did not build: see the errors above (WEB_CLIENT=off serves the API without it).');
    process.exit(1);
  }
}
