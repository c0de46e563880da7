/**
 * The web client on a server that does not let just anyone register (issue 17), in a real browser (Chromium): what a
 * real deployment gets by default (REGISTRATION=token on a non-loopback HOST). On a token-gated server the landing
 * page asks for an invite code (a registration token made with `npm run admin -- create-token`), explains it, says
 * plainly when a code is wrong, and starts the room with a right one; a second person joins by the link as a guest (no
 * code); the guest keeps the account with the code; a room that refuses guests asks its joiner for a code. On a server
 * with registration closed the page says so instead of offering a form that cannot work, and signing in from an
 * invite link joins the room. The page opened over plain http on another name still explains itself. Screenshots:
 * test-artifacts/web/.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { runAdminCommand } from '../../src/admin.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { baseUrlOf, stopAll, trackLongTimers } from '../support/e2e-clients.js';
import { STEP_MS, messageIn, openSettings, sendFrom, sessionOf } from '../support/web-steps.js';
import { ARTIFACTS, buildWebClient, launchChromium, openPerson, type TestPage } from '../support/browser.js';

trackLongTimers();

let gated: TestServer;
let closed: TestServer;
let browser: Browser;
let inviteCode: string;
let link: string;
const people: TestPage[] = [];

async function admin(t: TestServer, ...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAdminCommand(t.hs, argv, (line) => lines.push(line));
  return lines;
}

async function person(name: string, t: TestServer, viewport?: { width: number; height: number }): Promise<TestPage> {
  const p = await openPerson(browser, `registration-${name}`, baseUrlOf(t), viewport);
  people.push(p);
  return p;
}

/** A user made by the administrator (`npm run admin -- create-user`), logged in over HTTP, with a room of `preset`. */
async function adminMadeRoom(t: TestServer, name: string, password: string, preset: 'public_chat' | 'private_chat'): Promise<string> {
  await admin(t, 'create-user', name, '--password', password);
  const login = await t.http.post('/_matrix/client/v3/login').send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: name }, password });
  expect(login.status).toBe(200);
  const created = await t.http
    .post('/_matrix/client/v3/createRoom')
    .set('Authorization', `Bearer ${login.body.access_token}`)
    .send({ preset, initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'public' } }] });
  expect(created.status).toBe(200);
  return created.body.room_id;
}

const tokenUses = async (t: TestServer, token: string) =>
  (await t.hs.sql<{ completed: number }[]>`SELECT completed FROM registration_tokens WHERE token = ${token}`)[0]?.completed;

beforeAll(async () => {
  buildWebClient();
  // What a deployment on a public address gets by default: registration by token, guests allowed.
  gated = await startTestServer({ registration: 'token' });
  expect(gated.hs.config.allowGuests).toBe(true);
  // REGISTRATION=closed turns guests off unless ALLOW_GUESTS says otherwise.
  closed = await startTestServer({ registration: 'closed', allowGuests: false });
  browser = await launchChromium();
  [inviteCode] = await admin(gated, 'create-token', '--uses', '5');
}, 120_000);

afterAll(async () => {
  for (const p of people) if (p.errors.length > 0) console.log(`${p.name}'s console and HTTP errors:\n${p.errors.join('\n')}`);
  await browser?.close();
  stopAll();
  await gated?.close();
  await closed?.close();
});

test('token-gated server: the landing page asks for an invite code and says what it is', async () => {
  const alice = await person('alice', gated);
  await alice.page.goto(`${baseUrlOf(gated)}/`);
  const code = alice.page.getByLabel('Invite code');
  await code.waitFor({ timeout: STEP_MS });
  const hint = await alice.page.locator(`#${await code.getAttribute('aria-describedby')}`).innerText();
  expect(hint).toMatch(/invite code \(a registration token\)/);
  await alice.shot('landing-invite-code');
  // Without a code: asked for one, on the field.
  await alice.page.locator('#start-name').fill('Alice');
  await alice.page.getByRole('button', { name: 'Start a room' }).click();
  await alice.page.getByRole('alert').filter({ hasText: 'Enter your invite code first' }).waitFor({ timeout: STEP_MS });
  expect(await code.getAttribute('aria-invalid')).toBe('true');
}, 60_000);

test('a wrong invite code gets a clear message, the focus on the code', async () => {
  const alice = people[0];
  const code = alice.page.getByLabel('Invite code');
  await code.fill('not-the-code');
  await alice.page.getByRole('button', { name: 'Start a room' }).click();
  const alert = alice.page.getByRole('alert').filter({ hasText: 'That invite code is not valid' });
  await alert.waitFor({ timeout: STEP_MS });
  expect(await alert.innerText()).toMatch(/check it for typos, or ask for a new one/);
  expect(await code.getAttribute('aria-invalid')).toBe('true');
  expect(await alice.page.evaluate(() => document.activeElement?.id)).toBe('start-invite-code');
  expect(await code.getAttribute('aria-describedby')).toContain('start-error');
  expect(await sessionOf(alice)).toEqual({});
  await alice.shot('wrong-invite-code');
}, 60_000);

test('with the right code alice starts a room; bob joins by the link as a guest, no code asked', async () => {
  const alice = people[0];
  // Typed by hand: a stray space around a pasted code does not matter.
  await alice.page.getByLabel('Invite code').fill(` ${inviteCode} `);
  await alice.page.getByRole('button', { name: 'Start a room' }).click();
  const linkInput = alice.page.locator('#invite-link');
  await linkInput.waitFor({ timeout: STEP_MS });
  link = await linkInput.inputValue();
  expect((await sessionOf(alice)).isGuest).toBe(false);
  expect(await tokenUses(gated, inviteCode)).toBe(1);
  await alice.shot('started-with-code');

  const bob = await person('bob', gated);
  await bob.page.goto(link);
  await bob.page.locator('#join-name').fill('Bob');
  expect(await bob.page.getByLabel('Invite code').count()).toBe(0);
  await bob.shot('join-page');
  await bob.page.locator('#join-name').press('Enter');
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  expect((await sessionOf(bob)).isGuest).toBe(true);
  await alice.page.locator('.notice', { hasText: 'Bob joined' }).waitFor({ timeout: STEP_MS });
  await sendFrom(alice, 'Welcome Bob, you came in as a guest');
  await messageIn(bob, 'Welcome Bob, you came in as a guest').waitFor({ timeout: STEP_MS });
  await sendFrom(bob, 'Thanks, no code needed');
  await messageIn(alice, 'Thanks, no code needed').waitFor({ timeout: STEP_MS });
  await bob.shot('guest-in-gated-server');
}, 120_000);

test('the guest keeps the account with the invite code (a wrong one is told)', async () => {
  const bob = people[1];
  const { userId } = await sessionOf(bob);
  await openSettings(bob);
  const code = bob.page.getByLabel('Invite code');
  await code.waitFor({ timeout: STEP_MS });
  await code.fill('not-the-code');
  await bob.page.getByRole('button', { name: 'Keep this account' }).click();
  await bob.page.getByRole('alert').filter({ hasText: 'That invite code is not valid' }).waitFor({ timeout: STEP_MS });
  expect((await sessionOf(bob)).isGuest).toBe(true);
  expect(await code.getAttribute('aria-invalid')).toBe('true');
  expect(await bob.page.evaluate(() => document.activeElement?.id)).toBe('keep-invite-code');
  await bob.shot('keep-account-wrong-code');
  await code.fill(inviteCode);
  await bob.page.getByRole('button', { name: 'Keep this account' }).click();
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  const kept = await sessionOf(bob);
  expect(kept).toMatchObject({ userId, isGuest: false, generatedPassword: expect.any(String) });
  expect(await tokenUses(gated, inviteCode)).toBe(2);
}, 90_000);

test('a room that refuses guests: its joiner (on a phone-sized screen) is asked for an invite code, with why', async () => {
  const strictRoom = await adminMadeRoom(gated, 'dora', 'dora password 1', 'public_chat');
  // On a phone-sized screen: the code field and its explanation fit.
  const carol = await person('carol', gated, { width: 390, height: 780 });
  await carol.page.goto(`${baseUrlOf(gated)}/join/${encodeURIComponent(strictRoom)}`);
  await carol.page.locator('#join-name').fill('Carol');
  await carol.page.getByRole('button', { name: 'Join the room' }).click();
  await carol.page.getByRole('alert').filter({ hasText: 'Guests cannot join this room, so you need an account' }).waitFor({ timeout: STEP_MS });
  const code = carol.page.getByLabel('Invite code');
  expect(await carol.page.evaluate(() => document.activeElement?.id)).toBe('join-invite-code');
  await carol.shot('join-needs-invite-code');
  await code.fill('wrong-again');
  await carol.page.getByRole('button', { name: 'Join the room' }).click();
  await carol.page.getByRole('alert').filter({ hasText: 'That invite code is not valid' }).waitFor({ timeout: STEP_MS });
  await code.fill(inviteCode);
  await carol.page.getByRole('button', { name: 'Join the room' }).click();
  await carol.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  expect((await sessionOf(carol)).isGuest).toBe(false);
  expect(await tokenUses(gated, inviteCode)).toBe(3);
  await carol.shot('joined-with-invite-code');
}, 120_000);

test('registration closed: the landing page says so and offers sign-in; from an invite link, signing in joins', async () => {
  const origin = baseUrlOf(closed);
  const roomId = await adminMadeRoom(closed, 'erin', 'erin password 1', 'private_chat');
  await admin(closed, 'create-user', 'frank', '--password', 'frank password 1');
  const frank = await person('frank', closed);
  await frank.page.goto(`${origin}/`);
  await frank.page.getByText('This server does not create new accounts from this page').waitFor({ timeout: STEP_MS });
  expect(await frank.page.getByRole('button', { name: 'Start a room' }).count()).toBe(0);
  await frank.page.getByRole('button', { name: 'Sign in' }).waitFor();
  await frank.shot('landing-registration-closed');

  await frank.page.goto(`${origin}/join/${encodeURIComponent(roomId)}`);
  await frank.page.locator('#join-name').fill('Frank');
  await frank.page.getByRole('button', { name: 'Join the room' }).click();
  await frank.page.getByRole('alert').filter({ hasText: 'This server does not let guests in and makes no new accounts from this page' }).waitFor({ timeout: STEP_MS });
  await frank.shot('join-registration-closed');
  await frank.page.getByLabel('User id').fill('frank');
  await frank.page.locator('#signin-password').fill('frank password 1');
  await frank.page.getByRole('button', { name: 'Sign in' }).click();
  await frank.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  const joined = await closed.hs.sql`
    SELECT 1 FROM current_state WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = '@frank:test.local' AND membership = 'join'`;
  expect(joined).toHaveLength(1);
  await frank.shot('signed-in-joined');
}, 120_000);

test('plain http on another name: the page explains the secure connection it needs', async () => {
  const port = new URL(baseUrlOf(gated)).port;
  const other = await launchChromium(['--host-resolver-rules=MAP chat.example.test 127.0.0.1']);
  try {
    const page = await other.newPage();
    await page.goto(`http://chat.example.test:${port}/join/abc`);
    await page.getByRole('heading', { name: 'This page needs a secure connection' }).waitFor({ timeout: STEP_MS });
    await page.getByText('https://chat.example.test/join/abc').waitFor();
    await page.getByText('create-token').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/99-registration-insecure-context.png` });
  } finally {
    await other.close();
  }
}, 60_000);

test('no request left the server origins', () => {
  for (const p of people) expect(p.foreign).toEqual([]);
});
