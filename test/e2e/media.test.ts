/**
 * Encrypted attachments end to end, with real matrix-js-sdk clients (Rust crypto): alice encrypts an image and a voice
 * message with matrix-encrypt-attachment (AES-CTR, the spec's `file` object), uploads the ciphertext, and sends
 * m.image and m.audio (org.matrix.msc3245.voice) in an encrypted room; bob decrypts the events, downloads through the
 * authenticated media API and decrypts the files to the same bytes. Neither the database nor the media directory holds
 * their plaintext afterwards. Avatars, the plaintext case: a PNG set as avatar_url gets thumbnails at Element's sizes.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decryptAttachment, encryptAttachment, type IEncryptedFile } from 'matrix-encrypt-attachment';
import sharp from 'sharp';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import {
  cryptoClient, decrypted, invitedRoom, joined, plaintextTracker, seesMembership, startSyncing, stopAll, trackLongTimers, type E2eClient,
  knowsDevice,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

const { tag, all: plaintexts, plain } = plaintextTracker();

let t: TestServer;
let dataDir: string;
const users: Record<'alice' | 'bob', TestUser> = {} as never;
let alice: E2eClient;
let bob: E2eClient;
let roomId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'securecomm-e2e-media-'));
  t = await startTestServer({ dataDir });
  for (const name of ['alice', 'bob'] as const) users[name] = await registerUser(t, `${name}${tag}`);
  alice = await cryptoClient(t, users.alice, 'alice');
  bob = await cryptoClient(t, users.bob, 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const arrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** Encrypts a file as Element does and uploads the ciphertext; answers the `file` object of the event content. */
async function encryptAndUpload(c: E2eClient, bytes: Buffer): Promise<IEncryptedFile & { url: string }> {
  const { data, info } = await encryptAttachment(arrayBuffer(bytes));
  const uploaded = await c.client.uploadContent(Buffer.from(data), { type: 'application/octet-stream', includeFilename: false });
  return { ...info, url: uploaded.content_uri };
}

/** Downloads through the authenticated media API (what matrix-js-sdk builds for a v1.11 server). */
async function download(c: E2eClient, mxc: string, width?: number, height?: number, method?: string): Promise<Response> {
  const url = c.client.mxcUrlToHttp(mxc, width, height, method, false, true, true);
  expect(url).toContain(width === undefined ? '/_matrix/client/v1/media/download/' : '/_matrix/client/v1/media/thumbnail/');
  return fetch(url!, { headers: { Authorization: `Bearer ${c.client.getAccessToken()}` } });
}

async function receiveAndDecryptFile(c: E2eClient, eventId: string): Promise<{ content: Record<string, unknown>; bytes: Buffer }> {
  const ev = await decrypted(c, roomId, eventId);
  expect(ev.getWireType()).toBe('m.room.encrypted');
  const content = ev.getContent();
  const file = content.file as IEncryptedFile & { url: string };
  const res = await download(c, file.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/octet-stream');
  expect(res.headers.get('content-disposition')).toBe('attachment');
  const plaintext = await decryptAttachment(await res.arrayBuffer(), file);
  return { content, bytes: Buffer.from(plaintext) };
}

describe('encrypted attachments with matrix-js-sdk and Rust crypto', () => {
  test('alice and bob share an encrypted room', async () => {
    const bobInvited = invitedRoom(bob);
    roomId = (await alice.client.createRoom({ invite: [users.bob.userId] })).room_id;
    expect(await bobInvited).toBe(roomId);
    const aliceSeesBob = seesMembership(alice, roomId, users.bob.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), joined(alice, roomId)]);
    await Promise.all([knowsDevice(alice, users.bob), knowsDevice(bob, users.alice)]);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);
  });

  test('an encrypted image (m.image): bob downloads and decrypts the same bytes', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#336699' } }).png().toBuffer();
    // Bytes after IEND are ignored by image readers: a marker the scans below must never find.
    const image = Buffer.concat([png, Buffer.from(plain('image file'))]);
    const file = await encryptAndUpload(alice, image);
    const caption = plain('image caption');
    const sent = await alice.client.sendMessage(roomId, {
      msgtype: 'm.image', body: caption, file, info: { mimetype: 'image/png', size: image.length, w: 40, h: 30 },
    } as never);
    const got = await receiveAndDecryptFile(bob, sent.event_id);
    expect(got.content.msgtype).toBe('m.image');
    expect(got.content.body).toBe(caption);
    expect(Buffer.compare(got.bytes, image)).toBe(0);
    // The server never opens ciphertext as an image.
    const thumb = await download(bob, file.url, 96, 96, 'crop');
    expect(thumb.status).toBe(400);
  });

  test('a voice message (m.audio, org.matrix.msc3245.voice): bob downloads and decrypts the same bytes', async () => {
    const voice = Buffer.concat([Buffer.from('OggS\0\x02'), Buffer.from(plain('voice message')), Buffer.alloc(2000, 7)]);
    const file = await encryptAndUpload(alice, voice);
    const sent = await alice.client.sendMessage(roomId, {
      msgtype: 'm.audio', body: 'Voice message', file,
      info: { mimetype: 'audio/ogg', size: voice.length, duration: 2300 },
      'org.matrix.msc1767.audio': { duration: 2300, waveform: [0, 512, 1024, 512, 0] },
      'org.matrix.msc3245.voice': {},
    } as never);
    const got = await receiveAndDecryptFile(bob, sent.event_id);
    expect(got.content.msgtype).toBe('m.audio');
    expect(got.content['org.matrix.msc3245.voice']).toEqual({});
    expect(Buffer.compare(got.bytes, voice)).toBe(0);
  });

  test('the database and the media directory hold no plaintext of them', async () => {
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts);
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(path.join(d, e.name));
        else files.push(path.join(d, e.name));
      }
    };
    await walk(path.join(dataDir, 'media'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const bytes = await readFile(f);
      for (const p of plaintexts) expect([f, bytes.includes(Buffer.from(p))]).toEqual([f, false]);
      expect([f, bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))]).toEqual([f, false]);
    }
  });

  test('an avatar: a plaintext PNG set as avatar_url, thumbnails at the sizes Element asks for', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 200, g: 20, b: 20, alpha: 1 } } }).png().toBuffer();
    const uploaded = await alice.client.uploadContent(png, { type: 'image/png', name: 'avatar.png' });
    await alice.client.setAvatarUrl(uploaded.content_uri);
    const profile = await bob.client.getProfileInfo(users.alice.userId);
    expect(profile.avatar_url).toBe(uploaded.content_uri);
    for (const [w, h, method, ew, eh] of [[32, 32, 'crop', 32, 32], [96, 96, 'crop', 96, 96], [800, 600, 'scale', 400, 300]] as const) {
      const res = await download(bob, uploaded.content_uri, w, h, method);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect([method, meta.width, meta.height]).toEqual([method, ew, eh]);
    }
    const original = await download(bob, uploaded.content_uri);
    expect(Buffer.compare(Buffer.from(await original.arrayBuffer()), png)).toBe(0);
    expect(original.headers.get('content-disposition')).toBe('inline; filename="avatar.png"');
  });
});
