/**
 * The steps a person takes in the web client, shared by its browser tests: start a room and let someone join by its
 * link, send a message, open the settings, find a message, read the page's kept session. Each waits for what the
 * person would see next, up to STEP_MS.
 */
import type { Locator } from 'playwright-core';
import type { TestPage } from './browser.js';

export const STEP_MS = 30_000;

/** A message of the timeline that shows `text`. */
export const messageIn = (p: TestPage, text: string): Locator => p.page.locator('li.message', { hasText: text });

/** The session the page keeps in localStorage (user, device, whether a guest). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the page's own JSON, read field by field by each test
export const sessionOf = (p: TestPage): Promise<Record<string, any>> =>
  p.page.evaluate(() => JSON.parse(localStorage.getItem('securecomm.session') ?? '{}'));

/** Types `text` and presses Enter; done when the local echo has become the server's event. */
export async function sendFrom(p: TestPage, text: string): Promise<void> {
  const box = p.page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
  await p.page.locator('li.message.mine:not(.pending)', { hasText: text }).waitFor({ timeout: STEP_MS });
}

export async function openSettings(p: TestPage): Promise<void> {
  await p.page.getByRole('button', { name: 'Settings & security' }).click();
  await p.page.getByRole('heading', { name: 'Settings', exact: true }).waitFor({ timeout: STEP_MS });
}

/** `starter` starts a room as Alice; `joiner` opens its invite link and joins as Bob (a guest where allowed). The link. */
export async function startRoomAndJoin(starter: TestPage, joiner: TestPage, origin: string): Promise<string> {
  await starter.page.goto(`${origin}/`);
  await starter.page.locator('#start-name').fill('Alice');
  await starter.page.getByRole('button', { name: 'Start a room' }).click();
  const linkInput = starter.page.locator('#invite-link');
  await linkInput.waitFor({ timeout: STEP_MS });
  const link = await linkInput.inputValue();
  await joiner.page.goto(link);
  await joiner.page.locator('#join-name').fill('Bob');
  await joiner.page.getByRole('button', { name: 'Join the room' }).click();
  await joiner.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  return link;
}

/** Both sides of an emoji verification show the same 7 emoji (compared, as people would); both say they match. */
export async function compareEmojiAndConfirm(one: TestPage, other: TestPage): Promise<void> {
  const lists = [one, other].map((p) => p.page.getByRole('list', { name: 'Emoji to compare' }));
  for (const l of lists) await l.waitFor({ timeout: STEP_MS });
  const [a, b] = await Promise.all(lists.map((l) => l.locator('li').allInnerTexts()));
  if (a.length !== 7 || JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the emoji differ: ${a.join(' ')} / ${b.join(' ')}`);
  await one.shot('verify-emoji');
  await other.shot('verify-emoji');
  await one.page.getByRole('button', { name: 'They match' }).click();
  await other.page.getByRole('button', { name: 'They match' }).click();
}
