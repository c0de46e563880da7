/**
 * Settings in the web client (issue 17), in a real browser (Chromium): alice and bob talk; alice changes her display name, sets an avatar (uploaded, then shown through the
 * authenticated thumbnail endpoint from a blob: URL), turns notifications on, sets a password, signs in on a second
 * browser and signs that device out from the first (user-interactive auth with the password); bob signs out, which
 * clears the browser's stores. The database holds none of the texts. Screenshots: test-artifacts/web/.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { baseUrlOf, plaintextTracker, stopAll, trackLongTimers } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { STEP_MS, openSettings, sendFrom, sessionOf, startRoomAndJoin } from '../support/web-steps.js';
import { buildWebClient, launchChromium, openPerson, type TestPage } from '../support/browser.js';
import { png } from '../support/png.js';

trackLongTimers();

let t: TestServer;
let origin: string;
let browser: Browser;
let alice: TestPage;
let bob: TestPage;
let alice2: TestPage | undefined;
const texts = plaintextTracker();
/** The conversation of the README's screenshot (plain words; the scan looks for them too). */
const conversation = ['Hi Bob, welcome to our room!', 'Thanks Alice. Is everything here end-to-end encrypted?', 'Yes: the server only ever sees ciphertext.'];

beforeAll(async () => {
  buildWebClient();
  t = await startTestServer();
  origin = baseUrlOf(t);
  browser = await launchChromium();
  alice = await openPerson(browser, 'settings-alice', origin);
  bob = await openPerson(browser, 'settings-bob', origin);
  await alice.context.grantPermissions(['notifications'], { origin });
}, 120_000);

afterAll(async () => {
  for (const p of [alice, bob, alice2]) if (p && p.errors.length > 0) console.log(`${p.name}'s console errors:\n${p.errors.join('\n')}`);
  await browser?.close();
  stopAll();
  await t?.close();
});


test('alice and bob talk in a room', async () => {
  await startRoomAndJoin(alice, bob, origin);
  await alice.page.locator('.notice', { hasText: 'Bob joined' }).waitFor({ timeout: STEP_MS });
  await sendFrom(alice, conversation[0]);
  await bob.page.locator('li.message', { hasText: conversation[0] }).waitFor({ timeout: STEP_MS });
  await sendFrom(bob, conversation[1]);
  await alice.page.locator('li.message', { hasText: conversation[1] }).waitFor({ timeout: STEP_MS });
  await sendFrom(alice, conversation[2]);
  await bob.page.locator('li.message', { hasText: conversation[2] }).waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: /^Members/ }).click();
  await alice.page.locator('.read-by', { hasText: 'Seen by Bob' }).waitFor({ timeout: STEP_MS });
  await alice.shot('room');
}, 120_000);

test('display name and avatar: the picture is uploaded and shown through the authenticated thumbnail endpoint', async () => {
  await openSettings(alice);
  await alice.page.getByLabel('Display name').fill('Alice Liddell');
  await alice.page.getByRole('button', { name: 'Save name' }).click();
  await alice.page.getByText('Your name is changed.').waitFor({ timeout: STEP_MS });
  await alice.page.locator('.me', { hasText: 'Alice Liddell' }).waitFor({ timeout: STEP_MS });
  const thumbnails: string[] = [];
  alice.page.on('request', (r) => {
    if (r.url().includes('/_matrix/client/v1/media/thumbnail/')) thumbnails.push(r.headers().authorization ?? '');
  });
  await alice.page.locator('#avatar-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png('avatar', 128, 128) });
  await alice.page.getByText('Your picture is changed.').waitFor({ timeout: STEP_MS });
  const img = alice.page.getByRole('img', { name: 'Your picture' });
  await img.waitFor({ timeout: STEP_MS });
  expect(await img.getAttribute('src')).toMatch(/^blob:/);
  await expect(img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0))).resolves.toBe(true);
  expect(thumbnails.length).toBeGreaterThan(0);
  expect(thumbnails.every((h) => h.startsWith('Bearer '))).toBe(true);
  const { accessToken, userId } = await sessionOf(alice);
  const profile = await (await fetch(`${origin}/_matrix/client/v3/profile/${encodeURIComponent(userId)}`, { headers: { Authorization: `Bearer ${accessToken}` } })).json();
  expect(profile).toMatchObject({ displayname: 'Alice Liddell', avatar_url: expect.stringMatching(/^mxc:\/\//) });
  await alice.shot('profile');
}, 60_000);

test('notifications: turned on with the browser permission', async () => {
  await alice.page.getByRole('button', { name: 'Turn notifications on' }).click();
  await alice.page.getByText('Notifications are on').waitFor({ timeout: STEP_MS });
  expect(await alice.page.evaluate(() => Notification.permission)).toBe('granted');
}, 30_000);

test("devices: alice signs in on a second browser, then signs that device out from the first with her password", async () => {
  await alice.page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await alice.page.getByRole('button', { name: 'Set password' }).click();
  await alice.page.getByText('Your password is set.').waitFor({ timeout: STEP_MS });
  const { userId, deviceId } = await sessionOf(alice);
  alice2 = await openPerson(browser, 'settings-alice-second', origin);
  await alice2.page.goto(`${origin}/`);
  await alice2.page.getByLabel('User id').fill(userId);
  await alice2.page.locator('#signin-password').fill('correct horse battery');
  await alice2.page.getByRole('button', { name: 'Sign in' }).click();
  await alice2.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  const second = (await sessionOf(alice2)).deviceId as string;
  expect(second).not.toBe(deviceId);
  // Reopen the settings to list the devices again.
  await alice.page.getByRole('button', { name: 'Back to the chat' }).click();
  await openSettings(alice);
  const list = alice.page.getByRole('list', { name: 'Your devices' });
  await list.getByText(second).waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: `Sign out ${second}` }).click();
  await alice.page.getByLabel('Your password, to sign a device out').fill('correct horse battery');
  await alice.shot('devices');
  await alice.page.getByRole('button', { name: `Sign out ${second}` }).click();
  await expect(list.getByText(second).waitFor({ state: 'detached', timeout: STEP_MS })).resolves.toBeUndefined();
  // The signed-out device's token is gone.
  const { accessToken } = await sessionOf(alice2);
  expect((await fetch(`${origin}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${accessToken}` } })).status).toBe(401);
}, 90_000);

test("sign out clears the browser's stores", async () => {
  expect((await bob.page.evaluate(() => indexedDB.databases())).length).toBeGreaterThan(0);
  await openSettings(bob);
  await bob.page.getByRole('button', { name: 'Sign out of this browser' }).click();
  await bob.page.getByRole('heading', { name: 'Start a room' }).waitFor({ timeout: STEP_MS });
  expect(await bob.page.evaluate(() => indexedDB.databases())).toEqual([]);
  expect(await bob.page.evaluate(() => localStorage.length)).toBe(0);
  await bob.shot('signed-out');
}, 60_000);

test('the database holds none of the texts typed into the pages', async () => {
  await expectNoPlaintextInDatabase(t.hs.sql, [...texts.all, ...conversation.map((c) => c.slice(0, 30))].filter((s) => !/["\\]/.test(s)));
});
