/**
 * Encrypted attachments in the web client (issue 17), in a real browser (Chromium with a fake microphone): alice
 * sends an image, a file and a voice message recorded with MediaRecorder; bob's page downloads each through the
 * authenticated media endpoint, decrypts it and shows the image, a download link and an audio player from blob:
 * URLs. The server (media in PostgreSQL here) holds neither the texts, nor the file names, nor the attachments' bytes.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { baseUrlOf, plaintextTracker, stopAll, trackLongTimers } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { STEP_MS, messageIn, startRoomAndJoin } from '../support/web-steps.js';
import { buildWebClient, launchChromium, openPerson, type TestPage } from '../support/browser.js';
import { png } from '../support/png.js';

trackLongTimers();

let t: TestServer;
let origin: string;
let browser: Browser;
let alice: TestPage;
let bob: TestPage;
const texts = plaintextTracker();
const imageMarker = texts.plain('image comment chunk');
const fileText = texts.plain('the content of a file');
const imageName = `${texts.plain('holiday').replaceAll(' ', '-')}.png`;
const fileName = `${texts.plain('notes').replaceAll(' ', '-')}.txt`;

beforeAll(async () => {
  buildWebClient();
  t = await startTestServer({ mediaStore: 'postgres' });
  origin = baseUrlOf(t);
  browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  alice = await openPerson(browser, 'media-alice', origin);
  bob = await openPerson(browser, 'media-bob', origin);
  await alice.context.grantPermissions(['microphone'], { origin });
}, 120_000);

afterAll(async () => {
  for (const p of [alice, bob]) if (p && p.errors.length > 0) console.log(`${p.name}'s console errors:\n${p.errors.join('\n')}`);
  await browser?.close();
  stopAll();
  await t?.close();
});


test('alice starts a room, bob joins by link and keeps his account', async () => {
  await startRoomAndJoin(alice, bob, origin);
  await alice.page.getByRole('button', { name: 'Hide' }).click();
  // A guest gets no attachment buttons (the server takes uploads from full accounts only).
  expect(await bob.page.getByRole('button', { name: 'Attach a file or an image' }).count()).toBe(0);
  await bob.page.getByRole('button', { name: 'Settings & security' }).click();
  await bob.page.getByRole('button', { name: 'Keep this account' }).click();
  await bob.page.getByLabel('Message', { exact: true }).waitFor({ timeout: STEP_MS });
  const hello = texts.plain('here come the attachments');
  const box = alice.page.getByLabel('Message', { exact: true });
  await box.fill(hello);
  await box.press('Enter');
  await messageIn(bob, hello).waitFor({ timeout: STEP_MS });
}, 120_000);

test('an encrypted image: bob sees it decrypted from a blob: URL', async () => {
  await alice.page.locator('#attach-input').setInputFiles({ name: imageName, mimeType: 'image/png', buffer: png(imageMarker) });
  const img = bob.page.locator('img.attachment-image');
  await img.waitFor({ timeout: STEP_MS });
  expect(await img.getAttribute('src')).toMatch(/^blob:/);
  expect(await img.getAttribute('alt')).toBe(imageName);
  // Decoded by the browser: the real pixels, not a broken image.
  await expect(img.evaluate((el: HTMLImageElement) => el.decode().then(() => [el.naturalWidth, el.naturalHeight]))).resolves.toEqual([160, 96]);
  await alice.page.locator('li.message.mine img.attachment-image').waitFor({ timeout: STEP_MS });
  await bob.shot('image');
}, 60_000);

test('an encrypted file: bob gets a download link whose blob holds the original bytes', async () => {
  await alice.page.locator('#attach-input').setInputFiles({ name: fileName, mimeType: 'text/plain', buffer: Buffer.from(fileText) });
  const a = bob.page.getByRole('link', { name: `Download ${fileName}` });
  await a.waitFor({ timeout: STEP_MS });
  const href = (await a.getAttribute('href'))!;
  expect(href).toMatch(/^blob:/);
  // Downloaded as a person would: the saved file holds the original bytes under the original name.
  const [download] = await Promise.all([bob.page.waitForEvent('download'), a.click()]);
  expect(download.suggestedFilename()).toBe(fileName);
  const chunks: Buffer[] = [];
  for await (const c of (await download.createReadStream())) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe(fileText);
}, 60_000);

test('a voice message recorded with MediaRecorder: bob gets an audio player with its length and waveform', async () => {
  await alice.page.getByRole('button', { name: 'Record voice' }).click();
  await alice.page.getByText('Recording…').waitFor({ timeout: STEP_MS });
  await alice.page.waitForTimeout(1500);
  await alice.shot('recording');
  await alice.page.getByRole('button', { name: 'Send voice message' }).click();
  const voice = bob.page.locator('.attachment-audio');
  await voice.waitFor({ timeout: STEP_MS });
  const audio = voice.locator('audio');
  await audio.waitFor({ timeout: STEP_MS });
  expect(await audio.getAttribute('src')).toMatch(/^blob:/);
  await expect(voice.innerText()).resolves.toContain('Voice message');
  const duration = Number(await voice.getAttribute('data-duration'));
  expect(duration).toBeGreaterThan(500);
  expect(duration).toBeLessThan(20_000);
  expect(Number(await voice.getAttribute('data-waveform-length'))).toBe(64);
  // The browser can play it: its decoded length is about the recorded one.
  const played = await audio.evaluate(
    (el: HTMLAudioElement) =>
      new Promise<number>((resolve) => {
        if (el.readyState >= 1) resolve(el.duration);
        el.addEventListener('loadedmetadata', () => resolve(el.duration), { once: true });
      }),
  );
  expect(played).toBeGreaterThan(0);
  await bob.shot('voice-message');
  await alice.shot('attachments');
}, 60_000);

test('no request left the server origin', () => {
  expect([...alice.foreign, ...bob.foreign]).toEqual([]);
});

test("the database (media included) holds none of the texts, names or attachments' bytes", async () => {
  await expectNoPlaintextInDatabase(t.hs.sql, texts.all);
});
