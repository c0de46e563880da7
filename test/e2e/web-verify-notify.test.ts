/**
 * The web client's remaining trust and notification steps (issue 17), in a real browser (Chromium, playwright-core):
 * alice starts a room and bob joins by link as a guest: alice's member list offers no "Verify" for him (a guest has
 * no identity to verify) but says so; alice turns notifications on, her tab is hidden, and bob's message is announced
 * by a browser notification (recorded by wrapping window.Notification before the app loads); alice sets a password
 * and a recovery key, signs in on a second browser, and verifies that new device by emoji from her first one, which then reads her history (the backup key comes by
 * secret sharing). The
 * database holds none of the texts. Screenshots: test-artifacts/web/.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { baseUrlOf, plaintextTracker, stopAll, trackLongTimers } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { STEP_MS, messageIn, openSettings, sendFrom, sessionOf, startRoomAndJoin, compareEmojiAndConfirm } from '../support/web-steps.js';
import { buildWebClient, launchChromium, openPerson, type TestPage } from '../support/browser.js';

trackLongTimers();

let t: TestServer;
let origin: string;
let browser: Browser;
let alice: TestPage;
let bob: TestPage;
let alice2: TestPage | undefined;
const texts = plaintextTracker();

interface Shown {
  title: string;
  body?: string;
}

beforeAll(async () => {
  buildWebClient();
  t = await startTestServer();
  origin = baseUrlOf(t);
  browser = await launchChromium();
  alice = await openPerson(browser, 'vn-alice', origin);
  bob = await openPerson(browser, 'vn-bob', origin);
  await alice.context.grantPermissions(['notifications'], { origin });
  // Every notification the page shows is recorded (headless Chromium shows none on a screen).
  await alice.page.addInitScript(() => {
    const shown: Array<{ title: string; body?: string }> = [];
    (window as unknown as { __shown: typeof shown }).__shown = shown;
    window.Notification = new Proxy(window.Notification, {
      construct(target, args: [string, NotificationOptions?]) {
        shown.push({ title: args[0], body: args[1]?.body });
        return Reflect.construct(target, args);
      },
    });
  });
}, 120_000);

afterAll(async () => {
  for (const p of [alice, bob, alice2]) if (p && p.errors.length > 0) console.log(`${p.name}'s console errors:\n${p.errors.join('\n')}`);
  await browser?.close();
  stopAll();
  await t?.close();
});

const shownBy = (p: TestPage): Promise<Shown[]> => p.page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown);

/** The tab is hidden (another tab in front, the window minimised) or shown again, as the page sees it. */
async function setHidden(p: TestPage, hidden: boolean): Promise<void> {
  await p.page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

async function backToChat(p: TestPage): Promise<void> {
  await p.page.getByRole('button', { name: 'Back to the chat' }).click();
  await p.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
}

test('a guest cannot be verified: no Verify button for him, a note that says why', async () => {
  await startRoomAndJoin(alice, bob, origin);
  expect((await sessionOf(bob)).isGuest).toBe(true);
  await sendFrom(bob, texts.plain('bob the guest says hello'));
  await messageIn(alice, 'bob the guest says hello').waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: /^Members/ }).click();
  const bobRow = alice.page.locator('.members li', { hasText: 'Bob' });
  await bobRow.getByText("Can't be verified yet").waitFor({ timeout: STEP_MS });
  await expect(bobRow.getByRole('button', { name: 'Verify Bob' }).count()).resolves.toBe(0);
  await alice.shot('guest-not-verifiable');
}, 180_000);

test('notifications: a new message while the tab is hidden is announced; none while it is shown', async () => {
  await openSettings(alice);
  await alice.page.getByRole('button', { name: 'Turn notifications on' }).click();
  await alice.page.getByText('Notifications are on').waitFor({ timeout: STEP_MS });
  await backToChat(alice);

  const seen = texts.plain('bob while alice looks');
  await sendFrom(bob, seen);
  await messageIn(alice, seen).waitFor({ timeout: STEP_MS });
  await expect(shownBy(alice)).resolves.toEqual([]);

  await setHidden(alice, true);
  const away = texts.plain('bob while alice is away');
  await sendFrom(bob, away);
  await alice.page.waitForFunction(() => (window as unknown as { __shown: unknown[] }).__shown.length > 0, undefined, { timeout: STEP_MS });
  const shown = await shownBy(alice);
  expect(shown).toHaveLength(1);
  // Decrypted in alice's own browser and shown there only: the room, who, and what.
  expect(shown[0].body).toBe(`Bob: ${away}`);
  expect(shown[0].title.length).toBeGreaterThan(0);
  // Her own messages are never announced to her.
  await sendFrom(alice, texts.plain('alice typing while hidden'));
  await setHidden(alice, false);
  await expect(shownBy(alice)).resolves.toHaveLength(1);
}, 120_000);

test("emoji verification of alice's own new device: both compare the emoji and confirm; the new device is verified", async () => {
  await openSettings(alice);
  await alice.page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await alice.page.getByRole('button', { name: 'Set password' }).click();
  await alice.page.getByText('Your password is set.').waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: 'Set up a recovery key' }).click();
  await alice.page.getByRole('status', { name: 'Recovery key' }).waitFor({ timeout: STEP_MS });
  await alice.page.getByLabel('I have saved my recovery key').check();
  await alice.page.getByRole('button', { name: 'Done' }).click();
  await backToChat(alice);
  // The backup upload is the sdk's background loop: wait until the server holds a room key of hers.
  const { accessToken } = await sessionOf(alice);
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const auth = { headers: { Authorization: `Bearer ${accessToken}` } };
    const version = await (await fetch(`${origin}/_matrix/client/v3/room_keys/version`, auth)).json();
    const keys = await (await fetch(`${origin}/_matrix/client/v3/room_keys/keys?version=${version.version}`, auth)).json();
    if (Object.keys(keys.rooms ?? {}).length > 0) break;
    if (Date.now() > deadline) throw new Error('no room key reached the backup');
    await new Promise((r) => setTimeout(r, 250));
  }

  alice2 = await openPerson(browser, 'vn-alice-new', origin);
  const { userId } = await sessionOf(alice);
  await alice2.page.goto(`${origin}/`);
  await alice2.page.getByLabel('User id').fill(userId);
  await alice2.page.locator('#signin-password').fill('correct horse battery');
  await alice2.page.getByRole('button', { name: 'Sign in' }).click();
  await alice2.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  await alice2.page.getByRole('img', { name: 'This device is not verified yet' }).first().waitFor({ timeout: STEP_MS });

  await openSettings(alice2);
  await alice2.page.getByText('This device is not verified yet.').waitFor({ timeout: STEP_MS });
  await alice2.page.getByRole('button', { name: 'Verify with my other device' }).click();
  await alice2.page.getByText('Waiting for your other device to accept').waitFor({ timeout: STEP_MS });
  await alice.page.getByText('Your other device wants to verify with you').waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: 'Start verifying' }).click();
  await compareEmojiAndConfirm(alice, alice2);
  await alice.page.getByText('Your other device is verified.').waitFor({ timeout: STEP_MS });
  await alice2.page.getByText('Your other device is verified.').waitFor({ timeout: STEP_MS });
  // Her other device sends the backup key (secret sharing): the new one restores the history from the backup.
  await alice2.page.getByText('Your history is restored from your key backup').waitFor({ timeout: STEP_MS });
  await alice2.shot('own-device-verified');
  await alice.page.getByRole('button', { name: 'Close' }).click();
  await alice2.page.getByRole('button', { name: 'Close' }).click();
  // The new device is now signed by her identity: Settings and her shield say so.
  await alice2.page.getByText('This device is verified by your account.').waitFor({ timeout: STEP_MS });
  await backToChat(alice2);
  await alice2.page.getByRole('img', { name: 'This device is verified' }).first().waitFor({ timeout: STEP_MS });
  await messageIn(alice2, 'bob while alice is away').waitFor({ timeout: STEP_MS });
  await alice2.shot('own-device-shield');
}, 180_000);

test('no request left the server origin', () => {
  expect([alice, bob, alice2].flatMap((p) => p?.foreign ?? [])).toEqual([]);
});

test('the database holds none of the texts typed into the pages', async () => {
  await expectNoPlaintextInDatabase(t.hs.sql, texts.all);
});
