/**
 * A real browser for the web client's tests: Debian's Chromium (/usr/bin/chromium, which .ci/run installs) driven by
 * playwright-core, headless, with the flags that keep it from calling out (no background networking, component
 * updates, sync or QUIC). Playwright gives every launch a fresh temporary profile (its own --user-data-dir), and every
 * context its own storage. Pages record console errors and any request that leaves the server's origin; steps save
 * screenshots under test-artifacts/web/ (gitignored) to be looked at.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from './process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'web');

/** Builds the web client (scripts/build.mjs --web: only when web/ changed). */
export function buildWebClient(): void {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build.mjs'), '--web'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`web build failed:\n${r.stderr}\n${r.stdout}`);
}

/** Empties test-artifacts/web/ (a run's screenshots, numbered in order). */
export function resetArtifacts(): void {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}

/** `extraArgs`: e.g. --host-resolver-rules (a name that is not a secure context), or the fake microphone
 * (--use-fake-ui-for-media-stream --use-fake-device-for-media-stream). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
}

export interface TestPage {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught exceptions and HTTP errors (status, method, path) of the page. */
  errors: string[];
  /** Requests to any origin but the server's (must stay empty). */
  foreign: string[];
  shot(step: string): Promise<void>;
}

let shots = 0;

/** A new browser context (its own storage: another person) with one page. */
export async function openPerson(browser: Browser, name: string, origin: string, viewport = { width: 1100, height: 760 }): Promise<TestPage> {
  const context = await browser.newContext({ viewport, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      if (process.env.WEB_CONSOLE) console.log(`[${name}] ${m.type()} ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  };
  watch(page);
  context.on('page', watch);
  context.on('response', (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  context.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    name,
    context,
    page,
    errors,
    foreign,
    async shot(step) {
      const file = join(ARTIFACTS, `${String(++shots).padStart(2, '0')}-${name}-${step}.png`);
      await page.screenshot({ path: file, fullPage: false });
    },
  };
}
