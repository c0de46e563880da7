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
import { baseUrlOf, cryptoClient, decrypted, joined, plaintextTracker, seesMembership, startSyncing, stopAll, trackLongTimers, waitFor, type E2eClient } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { STEP_MS, sendFrom } from '../support/web-steps.js';
import { ARTIFACTS, buildWebClient, launchChromium, openPerson, resetArtifacts, type TestPage } from '../support/browser.js';
import { RoomEvent } from 'matrix-js-sdk';

trackLongTimers();

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
  resetArtifacts();
  t = await startTestServer();
  origin = baseUrlOf(t);
  browser = await launchChromium();
  alice = await openPerson(browser, 'alice', origin);
  bob = await openPerson(browser, 'bob', origin, { width: 390, height: 780 });
}, 120_000);

afterAll(async () => {
  for (const p of [alice, bob]) if (p && p.errors.length > 0) console.log(`${p.name}'s console and HTTP errors:\n${p.errors.join('\n')}`);
  await bob?.page.unrouteAll({ behavior: 'ignoreErrors' });
  for (const p of [alice, bob]) await p?.shot('at-the-end').catch(() => {});
  await browser?.close();
  stopAll();
  await t?.close();
});

/** The message (li.message) whose own text (not a quote of it) contains `text`. */
const message = (p: TestPage, text: string) => p.page.locator('li.message').filter({ has: p.page.locator('p.body', { hasText: text }) });

/** Polls a condition of the test's own state (no sdk event to wait on), with a deadline. */
async function waitUntil(check: () => boolean, what: string, ms = STEP_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
  // With the keyboard: the name field, then Enter.
  await bob.page.locator('#join-name').fill('Bob');
  await bob.page.locator('#join-name').press('Enter');
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  expect(new URL(bob.page.url()).pathname).toBe('/');
  const kept = await bob.page.evaluate(() => JSON.parse(localStorage.getItem('securecomm.session') ?? '{}'));
  expect(kept.isGuest).toBe(true);
  await alice.page.locator('.notice', { hasText: 'Bob joined' }).waitFor({ timeout: STEP_MS });
  await bob.shot('joined');
}, 120_000);

test('messages both ways, decrypted in each browser', async () => {
  const hello = texts.plain('hello from alice');
  await sendFrom(alice, hello);
  await message(bob, hello).waitFor({ timeout: STEP_MS });
  const answer = texts.plain('hi alice, bob here');
  await sendFrom(bob, answer);
  await message(alice, answer).waitFor({ timeout: STEP_MS });
  await alice.shot('messages');
  await bob.shot('messages');
}, 120_000);

test('typing shows on the other page, and a read receipt comes back', async () => {
  const box = bob.page.getByLabel('Message', { exact: true });
  await box.fill('Bob is writing something');
  await alice.page.getByText('Bob is typing…').waitFor({ timeout: STEP_MS });
  await alice.shot('sees-typing');
  await box.fill('');
  await alice.page.getByText('Bob is typing…').waitFor({ state: 'detached', timeout: STEP_MS });

  const readMe = texts.plain('please read this');
  await sendFrom(alice, readMe);
  await message(bob, readMe).waitFor({ timeout: STEP_MS });
  await message(alice, readMe).locator('.read-by', { hasText: 'Seen by Bob' }).waitFor({ timeout: STEP_MS });
  await alice.shot('read-receipt');
}, 120_000);

test('reply, edit, reaction and deletion, seen on the other page', async () => {
  const original = texts.plain('a message to reply to');
  await sendFrom(alice, original);
  await message(bob, original).getByRole('button', { name: 'Reply' }).click();
  await bob.page.getByText('Replying to Alice').waitFor();
  const reply = texts.plain('this is bob replying');
  await sendFrom(bob, reply);
  await message(alice, reply).locator('blockquote', { hasText: original }).waitFor({ timeout: STEP_MS });

  await message(alice, original).getByRole('button', { name: 'Edit' }).click();
  const box = alice.page.getByLabel('Message', { exact: true });
  await alice.page.getByText('Editing your message').waitFor();
  await alice.page.waitForFunction((text) => (document.getElementById('composer-input') as HTMLTextAreaElement | null)?.value === text, original);
  const edited = texts.plain('the message as corrected');
  await box.fill(edited);
  await box.press('Enter');
  await message(bob, edited).locator('.edited').waitFor({ timeout: STEP_MS });
  expect(await message(bob, original).count()).toBe(0);
  // The reply's quote follows the edit.
  await message(bob, reply).locator('blockquote', { hasText: edited }).waitFor({ timeout: STEP_MS });

  await message(bob, edited).getByRole('button', { name: 'React', exact: true }).click();
  await message(bob, edited).getByRole('button', { name: 'React with 👍' }).click();
  await message(alice, edited).getByRole('button', { name: /^👍 1: Bob$/ }).waitFor({ timeout: STEP_MS });
  await alice.shot('reply-edit-reaction');

  const doomed = texts.plain('a message to delete');
  await sendFrom(alice, doomed);
  await message(bob, doomed).waitFor({ timeout: STEP_MS });
  await message(alice, doomed).getByRole('button', { name: 'Delete' }).click();
  await bob.page.locator('li.message', { hasText: 'Message deleted' }).waitFor({ timeout: STEP_MS });
  expect(await message(bob, doomed).count()).toBe(0);
  await bob.shot('reply-edit-reaction-delete');
}, 120_000);

test('a matrix-js-sdk Node client in the room reads the pages and the pages read it', async () => {
  carol = await cryptoClient(t, await registerUser(t, `carol_web_${texts.tag}`), 'carol');
  await startSyncing(carol);
  await carol.client.joinRoom(roomId);
  await joined(carol, roomId);
  await alice.page.locator('.notice', { hasText: 'joined' }).filter({ hasText: 'carol' }).waitFor({ timeout: STEP_MS });
  await bob.page.locator('.notice', { hasText: 'joined' }).filter({ hasText: 'carol' }).waitFor({ timeout: STEP_MS });

  const fromPage = texts.plain('alice page to the node client');
  await sendFrom(alice, fromPage);
  const c = carol;
  const seen = await waitFor(
    [[c.client, [RoomEvent.Timeline]]],
    () => c.client.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getType() === 'm.room.message' && e.getContent().body === fromPage)?.getId(),
    'carol to receive the page message',
  );
  const ev = await decrypted(c, roomId, seen!);
  expect(ev.getWireType()).toBe('m.room.encrypted');
  expect(ev.getContent().body).toBe(fromPage);

  const fromNode = texts.plain('carol from node to the pages');
  await c.client.sendTextMessage(roomId, fromNode);
  await message(alice, fromNode).waitFor({ timeout: STEP_MS });
  await message(bob, fromNode).waitFor({ timeout: STEP_MS });
  await bob.shot('node-client');

  // The member list, and on the phone-sized page the room list as a panel.
  await alice.page.getByRole('button', { name: 'Members (3)' }).click();
  const members = alice.page.getByRole('complementary', { name: 'Members (3)' });
  for (const name of ['Alice (you)', 'Bob', `carol_web_${texts.tag}`]) await members.getByText(name).waitFor();
  await alice.shot('members');
  await alice.page.getByRole('button', { name: 'Members (3)' }).click();
  await bob.page.getByRole('button', { name: 'Rooms' }).click();
  await bob.page.getByRole('navigation', { name: 'Your rooms' }).getByRole('button', { name: "Alice's room" }).waitFor();
  await bob.shot('rooms-panel');
  await bob.page.getByRole('navigation', { name: 'Your rooms' }).getByRole('button', { name: "Alice's room" }).click();
  await bob.page.getByRole('navigation', { name: 'Your rooms' }).waitFor({ state: 'hidden' });
}, 120_000);

test('join by link where guests may not join: a quick account instead, and the Node client reads it', async () => {
  const c = carol!;
  const { room_id: strictRoom } = await c.client.createRoom({ preset: 'public_chat' as never, name: 'no guests here' });
  await joined(c, strictRoom);
  const dave = await openPerson(browser, 'dave', origin);
  try {
    await dave.page.goto(`${origin}/join/${encodeURIComponent(strictRoom)}`);
    await dave.page.locator('#join-name').fill('Dave');
    await dave.page.getByRole('button', { name: 'Join the room' }).click();
    await dave.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
    const kept = await dave.page.evaluate(() => JSON.parse(localStorage.getItem('securecomm.session') ?? '{}'));
    expect(kept.isGuest).toBe(false);
    expect(typeof kept.generatedPassword).toBe('string');
    await seesMembership(c, strictRoom, kept.userId, 'join');
    const fromDave = texts.plain('dave joined without guest access');
    await sendFrom(dave, fromDave);
    await waitFor(
      [[c.client, [RoomEvent.Timeline]]],
      () => (c.client.getRoom(strictRoom)?.getLiveTimeline().getEvents().some((e) => e.getType() === 'm.room.message' && e.getContent().body === fromDave) ? true : undefined),
      'carol to decrypt dave',
    );
    await dave.shot('joined-without-guest-access');
    expect(dave.foreign).toEqual([]);
  } finally {
    if (dave.errors.length > 0) console.log(`dave's console and HTTP errors:\n${dave.errors.join('\n')}`);
    await dave.shot('end').catch(() => {});
    await dave.context.close();
  }
}, 120_000);

test('a message whose key has not arrived is explained, and shows itself when the key comes', async () => {
  // Bob's page gets the room key late: its syncs' to-device messages are held back, then delivered.
  let holding = true;
  const held: unknown[] = [];
  let routed = 0;
  await bob.page.route(/\/_matrix\/client\/v3\/sync/, async (route) => {
    routed++;
    try {
      const response = await route.fetch({ timeout: 0 });
      if (!holding && held.length === 0) return await route.fulfill({ response });
      const body = await response.json();
      const events: unknown[] = body.to_device?.events ?? [];
      if (holding) held.push(...events);
      body.to_device = { events: holding ? [] : [...held.splice(0), ...events] };
      await route.fulfill({ response, json: body });
    } catch {
      // The page went away (the test ended) with a long-poll in flight.
    }
  });
  const c = carol!;
  // The long-poll already in flight is not routed: wake it, and wait for the next one to go through the route.
  await c.client.sendTyping(roomId, true, 1000);
  await waitUntil(() => routed > 0, 'bob to sync through the route');
  await c.client.sendTyping(roomId, false, 0);
  // A new Megolm session, whose key goes to each device by to-device message.
  await c.client.getCrypto()!.forceDiscardSession(roomId);
  const late = texts.plain('a message whose key comes late');
  await c.client.sendTextMessage(roomId, late);
  const waiting = bob.page.locator('li.message', { hasText: "Waiting for this message's key" });
  await waiting.waitFor({ timeout: STEP_MS });
  expect(await message(bob, late).count()).toBe(0);
  await bob.shot('waiting-for-key');
  holding = false;
  // Anything that wakes Bob's sync brings the held key.
  await c.client.sendTyping(roomId, true, 5000);
  await message(bob, late).waitFor({ timeout: STEP_MS });
  expect(await waiting.count()).toBe(0);
  await c.client.sendTyping(roomId, false, 0);
  await bob.page.unrouteAll({ behavior: 'ignoreErrors' });
  await bob.shot('key-arrived');
}, 120_000);

test('unread counts in the room list', async () => {
  await alice.page.getByRole('button', { name: '+ Start a new room' }).click();
  await alice.page.getByRole('button', { name: "Alice's room 2" }).waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: 'Hide' }).click();
  const unread = texts.plain('bob while alice is elsewhere');
  await sendFrom(bob, unread);
  const firstRoom = alice.page.locator('.room-entry:not(.selected)');
  await firstRoom.locator('.unread', { hasText: '1' }).waitFor({ timeout: STEP_MS });
  await alice.shot('unread-count');
  await firstRoom.click();
  await message(alice, unread).waitFor({ timeout: STEP_MS });
  expect(await alice.page.locator('.room-entry .unread').count()).toBe(0);
}, 120_000);

test('a reload keeps the session, the history and the keys', async () => {
  const before = (await bob.page.locator('li.message p.body').allTextContents()).filter((b) => b.includes(texts.tag));
  await bob.page.reload();
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  await bob.shot('reloaded');
  // What Bob sees: every message he could read before, readable again, and none still "Decrypting…" or waiting for a
  // key. Nothing else happens in the room meanwhile, so the page must show each decryption by itself (it once
  // missed those that finished between its first render and its subscription to the sdk). The page loads older
  // messages by itself until the view is full, so no scrolling is needed for these few.
  const readable = await bob.page
    .waitForFunction(
      (want) => {
        const shown = [...document.querySelectorAll('li.message p.body:not(.undecryptable)')].map((p) => p.textContent ?? '');
        return want.every((w) => shown.some((s) => s.includes(w))) && document.querySelector('li.message .undecryptable') === null;
      },
      before,
      { timeout: STEP_MS },
    )
    .then(() => true, () => false);
  if (!readable) {
    await bob.shot('reloaded-unreadable');
    const shown = await bob.page.locator('li.message p.body:not(.undecryptable)').allTextContents();
    const notes = await bob.page.locator('li.message .undecryptable').allTextContents();
    const missing = before.filter((b) => !shown.some((s) => s.includes(b)));
    throw new Error(`after the reload, Bob cannot read back ${JSON.stringify(missing)}; messages that say why: ${JSON.stringify(notes)}`);
  }
  await bob.shot('after-reload');
  // And it still talks.
  const after = texts.plain('bob after the reload');
  await sendFrom(bob, after);
  await message(alice, after).waitFor({ timeout: STEP_MS });
}, 120_000);

test('a second tab does not run a second client on the same keys', async () => {
  const second = await alice.context.newPage();
  await second.goto(`${origin}/`);
  await second.getByRole('heading', { name: 'SecureComm is open in another tab' }).waitFor({ timeout: STEP_MS });
  await second.screenshot({ path: `${ARTIFACTS}/99-alice-second-tab.png` });
  await second.close();
  // The first tab goes on.
  const still = texts.plain('alice still here');
  await sendFrom(alice, still);
  await message(bob, still).waitFor({ timeout: STEP_MS });
}, 120_000);

test('a kept session that opens an invite link joins at once (and the pictures for the README)', async () => {
  await alice.page.getByRole('button', { name: '+ Start a new room' }).click();
  await alice.page.getByRole('button', { name: "Alice's room 3" }).waitFor({ timeout: STEP_MS });
  const newLink = await alice.page.getByLabel('Invite link').inputValue();
  await bob.page.goto(newLink);
  await bob.page.getByRole('heading', { name: /Alice's room 3/ }).waitFor({ timeout: STEP_MS });
  await alice.page.locator('.notice', { hasText: 'Bob joined' }).waitFor({ timeout: STEP_MS });
  await alice.page.getByRole('button', { name: 'Hide' }).click();
  const lines = ['Hi Bob! Welcome to our new room.', 'Thanks! So the server only ever sees ciphertext?', 'Exactly: every message is encrypted in the browser.'];
  texts.all.push(...lines);
  await sendFrom(alice, lines[0]);
  await message(bob, lines[0]).waitFor({ timeout: STEP_MS });
  await sendFrom(bob, lines[1]);
  await message(alice, lines[1]).getByRole('button', { name: 'Reply' }).click();
  await sendFrom(alice, lines[2]);
  await message(bob, lines[2]).getByRole('button', { name: 'React', exact: true }).click();
  await message(bob, lines[2]).getByRole('button', { name: 'React with 🎉' }).click();
  await message(alice, lines[2]).getByRole('button', { name: /^🎉 1/ }).waitFor({ timeout: STEP_MS });
  await bob.page.getByLabel('Message', { exact: true }).fill('Great');
  await alice.page.getByText('Bob is typing…').waitFor({ timeout: STEP_MS });
  await alice.page.screenshot({ path: `${ARTIFACTS}/readme-room.png` });
  await bob.page.screenshot({ path: `${ARTIFACTS}/readme-room-phone.png` });
  await bob.page.getByLabel('Message', { exact: true }).fill('');
}, 120_000);

test('opened over plain http at another address, the page says what to do instead of failing', async () => {
  const { port } = new URL(origin);
  const other = await launchChromium(['--host-resolver-rules=MAP chat.insecure.test 127.0.0.1']);
  try {
    const page = await other.newPage();
    await page.goto(`http://chat.insecure.test:${port}/`);
    await page.getByRole('heading', { name: 'This page needs a secure connection' }).waitFor({ timeout: STEP_MS });
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await page.getByText(`http://localhost:${port}/`).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/98-insecure-context.png` });
  } finally {
    await other.close();
  }
}, 60_000);

test('no request left the server origin', () => {
  expect([...alice.foreign, ...bob.foreign]).toEqual([]);
});

test('the database holds none of the texts typed into the pages', async () => {
  await expectNoPlaintextInDatabase(t.hs.sql, texts.all);
});
