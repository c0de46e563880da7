/**
 * The content repository over HTTP, on both blob stores (files under DATA_DIR/media, chunks in PostgreSQL): uploads
 * (plain and asynchronous), authenticated downloads with safe serving headers and ranges, thumbnails of plaintext
 * images only, config, and every refusal: over size, over quota, wrong owner, double upload, unknown and hostile ids
 * and file names, missing tokens, the legacy unauthenticated endpoints off. A refusal leaves no bytes behind.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { registerUser, type TestServer, type TestUser } from '../support/server.js';
import { expectDocumentedMediaResponse, startMediaServer } from '../support/media-server.js';
import { expectMatrixError, expectValidResponseById, ourSchemas } from '../support/spec.js';

const UPLOAD = '/_matrix/media/v3/upload';
const CREATE = '/_matrix/media/v1/create';
const DOWNLOAD = '/_matrix/client/v1/media/download';
const THUMBNAIL = '/_matrix/client/v1/media/thumbnail';
const CONFIG = '/_matrix/client/v1/media/config';

/** A request the raw way: a body sent in chunks without Content-Length (chunked transfer encoding). */
export function chunkedRequest(server: http.Server, method: string, target: string, headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const address = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: address.port, method, path: target, headers: { ...headers, 'Transfer-Encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString() || '{}') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    (async () => {
      for (const c of chunks) {
        if (req.destroyed) return;
        if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(() => {});
  });
}

const mediaIdOf = (uri: string) => uri.replace(/^mxc:\/\/[^/]+\//, '');

describe.each(['fs', 'postgres'] as const)('media on the %s store', (store) => {
  let m: Awaited<ReturnType<typeof startMediaServer>>;
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let png: Buffer;
  const MAX = 1024 * 1024;

  beforeAll(async () => {
    m = await startMediaServer({ mediaStore: store, maxUploadBytes: MAX });
    t = m.t;
    [alice, bob] = [await registerUser(t), await registerUser(t)];
    png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } }).png().toBuffer();
  });
  afterAll(() => m.close());

  async function upload(u: TestUser, bytes: Buffer, contentType = 'application/octet-stream', filename?: string): Promise<string> {
    const res = await t.http.post(UPLOAD).query(filename ? { filename } : {}).set(u.auth).set('Content-Type', contentType).send(bytes);
    expect(res.status).toBe(200);
    expectValidResponseById('uploadContent', 200, res.body);
    return res.body.content_uri as string;
  }
  const get = (u: TestUser | undefined, target: string) => {
    const r = t.http.get(target).buffer(true).parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    });
    return u ? r.set(u.auth) : r;
  };
  const json = (body: Buffer) => JSON.parse(body.toString()) as Record<string, unknown>;

  test('config: m.upload.size is MAX_UPLOAD_BYTES (authenticated and legacy path)', async () => {
    for (const p of [CONFIG, '/_matrix/media/v3/config']) {
      const res = await t.http.get(p).set(alice.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ 'm.upload.size': MAX });
    }
    expectValidResponseById('getConfigAuthed', 200, { 'm.upload.size': MAX });
    expectMatrixError((await t.http.get(CONFIG)).body, 'M_MISSING_TOKEN');
  });

  test('an encrypted blob goes up and comes back byte for byte, served as an attachment with the safe headers', async () => {
    const bytes = randomBytes(300_000);
    const uri = await upload(alice, bytes);
    expect(uri).toMatch(/^mxc:\/\/test\.local\/[A-Za-z0-9]{24}$/);
    const res = await get(bob, `${DOWNLOAD}/test.local/${mediaIdOf(uri)}`);
    expect(res.status).toBe(200);
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toBe('attachment');
    expect(res.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['content-length']).toBe(String(bytes.length));
    const [row] = await t.hs.sql`SELECT * FROM media WHERE media_id = ${mediaIdOf(uri)}`;
    expect(row).toMatchObject({ userId: alice.userId, state: 'complete', size: bytes.length, contentType: 'application/octet-stream' });
  });

  test('file names: kept from the upload, replaced by the path, encoded per RFC 6266; inline only for safe types', async () => {
    const uri = await upload(alice, png, 'image/png', 'Straße "x".png');
    const id = mediaIdOf(uri);
    const res = await get(alice, `${DOWNLOAD}/test.local/${id}`);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['content-disposition']).toBe(`inline; filename="Straße \\"x\\".png"`);
    const named = await get(alice, `${DOWNLOAD}/test.local/${id}/${encodeURIComponent('résumé €.png')}`);
    expect(named.status).toBe(200);
    expect(named.headers['content-disposition']).toBe(`inline; filename="résumé ?.png"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.png`);
    const html = await upload(alice, Buffer.from('<script>alert(1)</script>'), 'text/html', 'page.html');
    const served = await get(alice, `${DOWNLOAD}/test.local/${mediaIdOf(html)}`);
    expect(served.headers['content-disposition']).toBe('attachment; filename="page.html"');
    expect(served.headers['content-security-policy']).toContain('sandbox');
  });

  test('a byte range is served as 206 with Content-Range', async () => {
    const bytes = randomBytes(700_000);
    const id = mediaIdOf(await upload(alice, bytes));
    const res = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', 'bytes=262000-262999');
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 262000-262999/${bytes.length}`);
    expect(Buffer.compare(res.body as Buffer, bytes.subarray(262000, 263000))).toBe(0);
    const tail = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', 'bytes=-10');
    expect(Buffer.compare(tail.body as Buffer, bytes.subarray(bytes.length - 10))).toBe(0);
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes ${bytes.length - 10}-${bytes.length - 1}/${bytes.length}`);
    // A suffix longer than the content is all of it; an end past the end is cut to it.
    const longSuffix = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', 'bytes=-9999999');
    expect([longSuffix.status, longSuffix.headers['content-range'], (longSuffix.body as Buffer).length]).toEqual([206, `bytes 0-${bytes.length - 1}/${bytes.length}`, bytes.length]);
    const pastEnd = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', `bytes=${bytes.length - 5}-99999999`);
    expect([pastEnd.status, pastEnd.headers['content-range']]).toEqual([206, `bytes ${bytes.length - 5}-${bytes.length - 1}/${bytes.length}`]);
    expect(Buffer.compare(pastEnd.body as Buffer, bytes.subarray(bytes.length - 5))).toBe(0);
  });

  test('unsatisfiable ranges are 416 with Content-Range bytes */size; several ranges or nonsense give the whole (200)', async () => {
    const bytes = randomBytes(3000);
    const id = mediaIdOf(await upload(alice, bytes));
    for (const range of ['bytes=9999999-', 'bytes=3000-3001', 'bytes=-0']) {
      const res = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', range);
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */3000');
      const body = json(res.body as Buffer);
      ourSchemas().checkById('getContentAuthed', 416, body); // the Matrix spec lists no 416: only ours
      expectMatrixError(body, 'M_UNKNOWN');
    }
    // RFC 9110 lets a server ignore Range: several ranges (no multipart/byteranges here) and ranges that do not
    // parse are answered with the whole content.
    for (const range of ['bytes=0-1,5-6', 'bytes=0-1, -5', 'bytes=5-2', 'items=0-1', 'bytes=a-b', 'bytes=-', 'bytes=99999999999999999999-']) {
      const res = await get(alice, `${DOWNLOAD}/test.local/${id}`).set('Range', range);
      expect([range, res.status, res.headers['content-range']]).toEqual([range, 200, undefined]);
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    }
    const empty = mediaIdOf(await upload(alice, Buffer.alloc(0)));
    expect((await get(alice, `${DOWNLOAD}/test.local/${empty}`).set('Range', 'bytes=0-')).status).toBe(200);
  });

  test('the r0 paths (matrix-nio 0.20) stream as v3 does: binary bodies are never read as JSON', async () => {
    const bytes = randomBytes(5000);
    const res = await t.http.post('/_matrix/media/r0/upload').query({ filename: 'nio.bin' }).set(alice.auth).set('Content-Type', 'application/octet-stream').send(bytes);
    expect(res.status).toBe(200);
    const got = await get(alice, `${DOWNLOAD}/test.local/${mediaIdOf(res.body.content_uri)}`);
    expect(Buffer.compare(got.body as Buffer, bytes)).toBe(0);
    expect(got.headers['content-disposition']).toBe('attachment; filename="nio.bin"');
    expect((await t.http.get('/_matrix/media/r0/config').set(alice.auth)).body).toEqual({ 'm.upload.size': MAX });
  });

  test('an empty upload is an empty file', async () => {
    const id = mediaIdOf(await upload(alice, Buffer.alloc(0)));
    const res = await get(alice, `${DOWNLOAD}/test.local/${id}`);
    expect(res.status).toBe(200);
    expect((res.body as Buffer).length).toBe(0);
  });

  test('over MAX_UPLOAD_BYTES: 413 M_TOO_LARGE, declared or streamed, and nothing is left behind', async () => {
    const before = await m.blobs();
    const declared = await t.http.post(UPLOAD).set(alice.auth).set('Content-Type', 'application/octet-stream').send(randomBytes(MAX + 1));
    expect(declared.status).toBe(413);
    expectMatrixError(declared.body, 'M_TOO_LARGE');
    const streamed = await chunkedRequest(t.server, 'POST', UPLOAD, { ...alice.auth, 'Content-Type': 'application/octet-stream' }, Array.from({ length: 20 }, () => randomBytes(64 * 1024)));
    expect(streamed.status).toBe(413);
    expectMatrixError(streamed.body, 'M_TOO_LARGE');
    expect(await m.blobs()).toEqual(before);
    // Exactly the limit passes.
    await upload(alice, randomBytes(MAX));
  });

  test('an upload cut off mid-stream leaves nothing behind', async () => {
    const before = await m.blobs();
    const address = t.server.address() as { port: number };
    await new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: address.port, method: 'POST', path: UPLOAD, headers: { ...alice.auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(MAX) } });
      req.on('error', () => resolve());
      req.write(randomBytes(300_000), () => setTimeout(() => req.destroy(), 100));
    });
    // The server notices the dropped connection by itself: wait (bounded) until the staged bytes are gone.
    const deadline = Date.now() + 20_000;
    let now = await m.blobs();
    while (JSON.stringify(now) !== JSON.stringify(before) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      now = await m.blobs();
    }
    expect(now).toEqual(before);
  });

  test('an upload under way when its account is deactivated with erase is refused, and nothing of it stays', async () => {
    const u = await registerUser(t);
    const before = await m.blobs();
    const address = t.server.address() as { port: number };
    const req = http.request({ host: '127.0.0.1', port: address.port, method: 'POST', path: UPLOAD, headers: { ...u.auth, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
    const answered = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString() || '{}') }));
      });
      req.on('error', reject);
    });
    req.write(randomBytes(64 * 1024));
    // The server has authenticated the upload once it stages its bytes: wait (bounded) for that, then deactivate.
    const deadline = Date.now() + 20_000;
    while ((await m.blobs()).length === before.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await m.blobs()).length).toBeGreaterThan(before.length);
    const gone = await t.http.post('/_matrix/client/v3/account/deactivate').set(u.auth).send({ erase: true, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password } });
    expect(gone.status).toBe(200);
    req.end(randomBytes(1000));
    const answer = await answered;
    expect(answer.status).toBe(401);
    expectMatrixError(answer.body, 'M_UNKNOWN_TOKEN');
    expect(await t.hs.sql`SELECT media_id FROM media WHERE user_id = ${u.userId}`).toHaveLength(0);
    expect(await m.blobs()).toEqual(before);
  });

  test('unknown ids, other servers and path traversal in ids are 404 M_NOT_FOUND; in file names 400', async () => {
    for (const target of [
      `${DOWNLOAD}/test.local/AAAAAAAAAAAAAAAAAAAAAAAA`,
      `${DOWNLOAD}/other.example/AAAAAAAAAAAAAAAAAAAAAAAA`,
      `${DOWNLOAD}/test.local/..%2F..%2F..%2Fetc%2Fpasswd`,
      `${DOWNLOAD}/test.local/%2E%2E`,
      `${DOWNLOAD}/..%2F..%2Fetc/passwd`,
      `${THUMBNAIL}/test.local/..%2Fx?width=32&height=32`,
    ]) {
      const res = await get(alice, target);
      expect([target, res.status]).toEqual([target, 404]);
      expectMatrixError(json(res.body as Buffer), 'M_NOT_FOUND');
    }
    const id = mediaIdOf(await upload(alice, randomBytes(10)));
    // U+202E (right-to-left override) and U+2067 (right-to-left isolate) would let "exe" pass for "png".
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '..', 'a%5Cb', 'a%0Ab', '%E2%80%AEgnp.exe', 'a%E2%81%A7b.png']) {
      const res = await get(alice, `${DOWNLOAD}/test.local/${id}/${name}`);
      expect([name, res.status]).toEqual([name, 400]);
      expectMatrixError(json(res.body as Buffer), 'M_INVALID_PARAM');
    }
    const badUpload = await t.http.post(UPLOAD).query({ filename: '../../x' }).set(alice.auth).send(Buffer.from('x'));
    expect(badUpload.status).toBe(400);
    expectMatrixError(badUpload.body, 'M_INVALID_PARAM');
    const spoofed = await t.http.post(UPLOAD).query({ filename: '\u202Egnp.exe' }).set(alice.auth).send(Buffer.from('x'));
    expect(spoofed.status).toBe(400);
    expectMatrixError(spoofed.body, 'M_INVALID_PARAM');
    // A right-to-left name without controls is a name like any other.
    const hebrew = await t.http.post(UPLOAD).query({ filename: '\u05E7\u05D5\u05D1\u05E5.png' }).set(alice.auth).send(Buffer.from('x'));
    expect(hebrew.status).toBe(200);
  });

  test('downloads need a token; the legacy unauthenticated endpoints are off', async () => {
    const id = mediaIdOf(await upload(alice, randomBytes(10)));
    const res = await get(undefined, `${DOWNLOAD}/test.local/${id}`);
    expect(res.status).toBe(401);
    expectMatrixError(json(res.body as Buffer), 'M_MISSING_TOKEN');
    const thumb = await get(undefined, `${THUMBNAIL}/test.local/${id}?width=32&height=32`);
    expect(thumb.status).toBe(401);
    for (const p of [`/_matrix/media/v3/download/test.local/${id}`, `/_matrix/media/v3/download/test.local/${id}/x.bin`, `/_matrix/media/v3/thumbnail/test.local/${id}?width=32&height=32`]) {
      const legacy = await get(undefined, p);
      expect(legacy.status).toBe(404);
      expectMatrixError(json(legacy.body as Buffer), 'M_NOT_FOUND');
    }
    const up = await t.http.post(UPLOAD).send(Buffer.from('x'));
    expect(up.status).toBe(401);
  });

  test('async upload: only the creator, only once; a download waits for it, or 504 M_NOT_YET_UPLOADED', async () => {
    const created = await t.http.post(CREATE).set(alice.auth).send({});
    expect(created.status).toBe(200);
    expectValidResponseById('createContent', 200, created.body);
    expect(created.body.unused_expires_at).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const id = mediaIdOf(created.body.content_uri);

    const early = await get(bob, `${DOWNLOAD}/test.local/${id}?timeout_ms=0`);
    expect(early.status).toBe(504);
    expectMatrixError(json(early.body as Buffer), 'M_NOT_YET_UPLOADED');

    const wrongOwner = await t.http.put(`${UPLOAD}/test.local/${id}`).set(bob.auth).send(Buffer.from('x'));
    expect(wrongOwner.status).toBe(403);
    expectMatrixError(wrongOwner.body, 'M_FORBIDDEN');

    const bytes = randomBytes(50_000);
    const waiting = get(bob, `${DOWNLOAD}/test.local/${id}?timeout_ms=20000`).then((r) => r);
    await new Promise((r) => setTimeout(r, 200));
    const put = await t.http.put(`${UPLOAD}/test.local/${id}`).set(alice.auth).set('Content-Type', 'application/octet-stream').send(bytes);
    expect(put.status).toBe(200);
    expectValidResponseById('uploadContentToMXC', 200, put.body);
    const waited = await waiting;
    expect(waited.status).toBe(200);
    expect(Buffer.compare(waited.body as Buffer, bytes)).toBe(0);

    const again = await t.http.put(`${UPLOAD}/test.local/${id}`).set(alice.auth).send(Buffer.from('y'));
    expect(again.status).toBe(409);
    expectMatrixError(again.body, 'M_CANNOT_OVERWRITE_MEDIA');

    for (const target of [`${UPLOAD}/test.local/AAAAAAAAAAAAAAAAAAAAAAAA`, `${UPLOAD}/other.example/${id}`, `${UPLOAD}/test.local/..%2F..%2Fx`]) {
      const unknown = await t.http.put(target).set(alice.auth).send(Buffer.from('z'));
      expect([target, unknown.status]).toEqual([target, 404]);
      expectMatrixError(unknown.body, 'M_NOT_FOUND');
    }
    // A media id from plain upload is not pending: it cannot be overwritten either.
    const plain = mediaIdOf(await upload(alice, Buffer.from('plain')));
    expect((await t.http.put(`${UPLOAD}/test.local/${plain}`).set(alice.auth).send(Buffer.from('x'))).status).toBe(409);
  });

  test('an expired created id is unknown', async () => {
    const created = await t.http.post(CREATE).set(alice.auth).send({});
    const id = mediaIdOf(created.body.content_uri);
    await t.hs.sql`UPDATE media SET unused_expires_ts = ${Date.now() - 1} WHERE media_id = ${id}`;
    const put = await t.http.put(`${UPLOAD}/test.local/${id}`).set(alice.auth).send(Buffer.from('x'));
    expect(put.status).toBe(404);
    expect((await get(alice, `${DOWNLOAD}/test.local/${id}`)).status).toBe(404);
  });

  test('thumbnails of a PNG at the sizes Element asks for, cached; never of an encrypted blob', async () => {
    const id = mediaIdOf(await upload(alice, png, 'image/png', 'avatar.png'));
    for (const [w, h, method, ew, eh] of [[32, 32, 'crop', 32, 32], [96, 96, 'crop', 96, 96], [800, 600, 'scale', 200, 100]] as const) {
      const res = await get(bob, `${THUMBNAIL}/test.local/${id}?width=${w}&height=${h}&method=${method}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/png');
      expect(res.headers['content-disposition']).toBe('inline; filename="thumbnail.png"');
      const meta = await sharp(res.body as Buffer).metadata();
      expect([meta.width, meta.height]).toEqual([ew, eh]);
    }
    const rows = await t.hs.sql`SELECT width, height, method FROM media_thumbnails WHERE media_id = ${id} ORDER BY width`;
    expect(rows.length).toBe(3);
    await get(bob, `${THUMBNAIL}/test.local/${id}?width=32&height=32&method=crop`);
    expect((await t.hs.sql`SELECT 1 FROM media_thumbnails WHERE media_id = ${id}`).length).toBe(3);

    const encrypted = mediaIdOf(await upload(alice, randomBytes(1000)));
    const refused = await get(bob, `${THUMBNAIL}/test.local/${encrypted}?width=32&height=32&method=crop`);
    expect(refused.status).toBe(400);
    expectMatrixError(json(refused.body as Buffer), 'M_UNKNOWN');
    // Ciphertext that claims to be an image: sharp refuses it, nothing is stored.
    const liar = mediaIdOf(await upload(alice, randomBytes(1000), 'image/png'));
    expect((await get(bob, `${THUMBNAIL}/test.local/${liar}?width=32&height=32`)).status).toBe(400);
    expect((await t.hs.sql`SELECT 1 FROM media_thumbnails WHERE media_id = ${liar}`).length).toBe(0);
    const badSize = await get(bob, `${THUMBNAIL}/test.local/${id}?width=0&height=32`);
    expect(badSize.status).toBe(400);
  });

  test('only JPEG, PNG, GIF and WebP are ever decoded: SVG, TIFF and AVIF declared as image/png are 400, nothing stored', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="blue"/></svg>');
    const small = sharp({ create: { width: 16, height: 16, channels: 3, background: '#00ff00' } });
    for (const bytes of [svg, await small.clone().tiff().toBuffer(), await small.clone().avif().toBuffer()]) {
      const id = mediaIdOf(await upload(alice, bytes, 'image/png'));
      for (const q of ['width=32&height=32&method=crop', 'width=800&height=600&animated=true']) {
        const res = await get(bob, `${THUMBNAIL}/test.local/${id}?${q}`);
        expect(res.status).toBe(400);
        expectMatrixError(json(res.body as Buffer), 'M_UNKNOWN');
      }
      expect((await t.hs.sql`SELECT 1 FROM media_thumbnails WHERE media_id = ${id}`).length).toBe(0);
    }
    // A JPEG declared as image/png is still an image the server decodes.
    const jpeg = mediaIdOf(await upload(alice, await small.clone().jpeg().toBuffer(), 'image/png'));
    expect((await get(bob, `${THUMBNAIL}/test.local/${jpeg}?width=32&height=32`)).status).toBe(200);
  });

  test('many downloads at once, beside other requests: every one whole (a pooled query never lands behind a COPY)', async () => {
    const big = randomBytes(600 * 1024);
    const ids = [mediaIdOf(await upload(alice, big)), mediaIdOf(await upload(alice, Buffer.from('tiny')))];
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => [get(bob, `${DOWNLOAD}/test.local/${ids[i % 2]}`), t.http.get('/_matrix/client/v3/account/whoami').set(bob.auth)]).flat(),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    for (let i = 0; i < answers.length; i += 4) expect(Buffer.compare(answers[i].body as Buffer, big)).toBe(0);
  });

  test('a burst of thumbnail requests (every size of large sources, and one size many times) is answered, each size made once', async () => {
    // 6000x6000 sources (36 megapixels, a few KiB compressed): rendered a few at a time, never all at once.
    const large = (c: string) => sharp({ create: { width: 6000, height: 6000, channels: 3, background: c } }).png({ compressionLevel: 9 }).toBuffer();
    const ids = [mediaIdOf(await upload(alice, await large('#112233'), 'image/png')), mediaIdOf(await upload(alice, await large('#445566'), 'image/png'))];
    const sizes = ['width=32&height=32&method=crop', 'width=96&height=96&method=crop', 'width=320&height=240', 'width=800&height=600'];
    const same = Array.from({ length: 6 }, () => `${THUMBNAIL}/test.local/${ids[0]}?width=320&height=320&method=crop`);
    const targets = [...ids.flatMap((id) => sizes.map((q) => `${THUMBNAIL}/test.local/${id}?${q}`)), ...same];
    const answers = await Promise.all(targets.map((target) => get(bob, target)));
    expect(answers.map((r) => r.status)).toEqual(targets.map(() => 200));
    const rows = await t.hs.sql`SELECT media_id, width, height FROM media_thumbnails WHERE media_id = ANY(${ids}::text[])`;
    expect(rows.length).toBe(9);
  });

  test('animated=true of a 2-frame GIF or WebP: an animated WebP, cached apart from the still; false or absent: a still', async () => {
    const frames = Buffer.concat(await Promise.all(['#ff0000', '#0000ff'].map((c) => sharp({ create: { width: 200, height: 100, channels: 3, background: c } }).raw().toBuffer())));
    const strip = () => sharp(frames, { raw: { width: 200, height: 200, channels: 3, pageHeight: 100 } });
    const sources: [string, Buffer][] = [
      ['image/gif', await strip().gif({ delay: [100, 100], loop: 0 }).toBuffer()],
      ['image/webp', await strip().webp({ delay: [100, 100], loop: 0 }).toBuffer()],
    ];
    for (const [type, bytes] of sources) {
      const id = mediaIdOf(await upload(alice, bytes, type));
      const anim = await get(bob, `${THUMBNAIL}/test.local/${id}?width=32&height=32&method=crop&animated=true`);
      expect([type, anim.status, anim.headers['content-type']]).toEqual([type, 200, 'image/webp']);
      expect(anim.headers['content-disposition']).toBe('inline; filename="thumbnail.webp"');
      const meta = await sharp(anim.body as Buffer, { animated: true }).metadata();
      expect([meta.pages, meta.width, meta.pageHeight]).toEqual([2, 32, 32]);
      for (const q of ['&animated=false', '']) {
        const still = await get(bob, `${THUMBNAIL}/test.local/${id}?width=32&height=32&method=crop${q}`);
        expect([type, q, still.status, still.headers['content-type']]).toEqual([type, q, 200, 'image/png']);
        const m = await sharp(still.body as Buffer).metadata();
        expect([m.pages ?? 1, m.width, m.height]).toEqual([1, 32, 32]);
      }
      const rows = await t.hs.sql`SELECT animated, content_type FROM media_thumbnails WHERE media_id = ${id} ORDER BY animated`;
      expect(rows.map((r) => [r.animated, r.contentType])).toEqual([[false, 'image/png'], [true, 'image/webp']]);
      // Served from the cache the second time: still two rows.
      await get(bob, `${THUMBNAIL}/test.local/${id}?width=32&height=32&method=crop&animated=true`);
      expect((await t.hs.sql`SELECT 1 FROM media_thumbnails WHERE media_id = ${id}`).length).toBe(2);
    }
    // animated=true of a source that cannot move (a PNG) is the still one, made once.
    const id = mediaIdOf(await upload(alice, png, 'image/png'));
    const res = await get(bob, `${THUMBNAIL}/test.local/${id}?width=96&height=96&method=crop&animated=true`);
    expect([res.status, res.headers['content-type']]).toEqual([200, 'image/png']);
    expect((await t.hs.sql`SELECT animated FROM media_thumbnails WHERE media_id = ${id}`).map((r) => r.animated)).toEqual([false]);
    // A GIF that is not one (ciphertext claiming the type) is refused on the animated path too.
    const liar = mediaIdOf(await upload(alice, randomBytes(1000), 'image/gif'));
    const refused = await get(bob, `${THUMBNAIL}/test.local/${liar}?width=32&height=32&animated=true`);
    expect(refused.status).toBe(400);
    expectMatrixError(json(refused.body as Buffer), 'M_UNKNOWN');
  });

  test('every media response is as openapi.yaml documents it: statuses, error bodies, serving headers', async () => {
    const bytes = randomBytes(3000);
    const id = mediaIdOf(await upload(alice, bytes, 'application/octet-stream', 'a.bin'));
    const avatar = mediaIdOf(await upload(alice, png, 'image/png'));
    const checks: [string, Awaited<ReturnType<typeof get>>][] = [
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}`)],
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}`).set('Range', 'bytes=10-19')],
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}`).set('Range', 'bytes=5000-')],
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/unknownMediaId`)],
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/other.server/${id}`)],
      ['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}?timeout_ms=-1`)],
      ['getContentOverrideNameAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}/b.bin`)],
      ['getContentOverrideNameAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}/b.bin`).set('Range', 'bytes=-5')],
      ['getContentOverrideNameAuthed', await get(bob, `${DOWNLOAD}/test.local/${id}/b.bin`).set('Range', 'bytes=3000-3000')],
      ['getContentThumbnailAuthed', await get(bob, `${THUMBNAIL}/test.local/${avatar}?width=32&height=32&method=crop`)],
      ['getContentThumbnailAuthed', await get(bob, `${THUMBNAIL}/test.local/${id}?width=32&height=32`)],
      ['getContentThumbnailAuthed', await get(bob, `${THUMBNAIL}/test.local/nope?width=32&height=32`)],
      ['getContentThumbnailAuthed', await get(bob, `${THUMBNAIL}/test.local/${avatar}?width=32&height=32&method=stretch`)],
      ['getConfigAuthed', await get(bob, CONFIG)],
      ['getConfig', await get(bob, '/_matrix/media/v3/config')],
      ['getContent', await get(undefined, `/_matrix/media/v3/download/test.local/${id}`)],
      ['getContentThumbnail', await get(undefined, `/_matrix/media/v3/thumbnail/test.local/${avatar}?width=32&height=32`)],
      ['getUrlPreviewAuthed', await get(bob, '/_matrix/client/v1/media/preview_url?url=https%3A%2F%2Fexample.org%2F')],
      ['getUrlPreview', await get(bob, '/_matrix/media/v3/preview_url?url=https%3A%2F%2Fexample.org%2F')],
    ];
    const created = await t.http.post(CREATE).set(alice.auth).send({});
    checks.push(['getContentAuthed', await get(bob, `${DOWNLOAD}/test.local/${mediaIdOf(created.body.content_uri)}?timeout_ms=0`)]);
    for (const [op, res] of checks) {
      try {
        expectDocumentedMediaResponse(op, res as unknown as { status: number; headers: Record<string, string>; body: unknown });
      } catch (err) {
        throw new Error(`${op} ${res.status} ${res.headers['content-type']}: ${(err as Error).message}`);
      }
    }
    expect(checks.map(([, r]) => r.status)).toEqual([200, 206, 416, 404, 404, 400, 200, 206, 416, 200, 400, 404, 400, 200, 200, 404, 404, 403, 403, 504]);
    for (const [op, status, body] of [
      ['uploadContent', 413, (await t.http.post(UPLOAD).set(alice.auth).set('Content-Type', 'application/octet-stream').send(randomBytes(MAX + 1))).body],
      ['uploadContent', 400, (await t.http.post(UPLOAD).set(alice.auth).set('Content-Type', 'not a type').send(Buffer.from('x'))).body],
      ['uploadContentToMXC', 404, (await t.http.put(`${UPLOAD}/test.local/unknownId`).set(alice.auth).set('Content-Type', 'application/octet-stream').send(Buffer.from('x'))).body],
    ] as const) {
      ourSchemas().checkById(op, status, body);
      expectMatrixError(body);
    }
  });

  test('URL previews are off, with a clear error', async () => {
    for (const p of ['/_matrix/client/v1/media/preview_url', '/_matrix/media/v3/preview_url']) {
      const res = await t.http.get(p).query({ url: 'https://example.org/' }).set(alice.auth);
      expect(res.status).toBe(403);
      expectMatrixError(res.body, 'M_FORBIDDEN');
      expect(res.body.error).toMatch(/URL previews are off/);
    }
  });
});

describe('media limits and settings', () => {
  test('a per-user quota: 403 M_FORBIDDEN past it, streamed or declared; other users unaffected', async () => {
    const m = await startMediaServer({ mediaQuotaBytes: 100_000 });
    try {
      const [a, b] = [await registerUser(m.t), await registerUser(m.t)];
      expect((await m.t.http.post(UPLOAD).set(a.auth).send(randomBytes(60_000))).status).toBe(200);
      const over = await m.t.http.post(UPLOAD).set(a.auth).send(randomBytes(60_000));
      expect(over.status).toBe(403);
      expectMatrixError(over.body, 'M_FORBIDDEN');
      expect(over.body.error).toMatch(/quota/);
      expect((await m.t.http.post(UPLOAD).set(b.auth).send(randomBytes(60_000))).status).toBe(200);
      expect((await m.t.http.post(UPLOAD).set(a.auth).send(randomBytes(40_000))).status).toBe(200);
      const full = await m.t.http.post(UPLOAD).set(a.auth).send(randomBytes(1));
      expect(full.status).toBe(403);
      expect((await m.blobs()).filter((f) => f.includes(`${path.sep}media${path.sep}tmp${path.sep}`))).toEqual([]);
    } finally {
      await m.close();
    }
  });

  test('pending created ids are limited (429 M_LIMIT_EXCEEDED), uploads are rate limited', async () => {
    const m = await startMediaServer({ mediaPendingUploads: 2, rateLimits: true, mediaUploadRatePerMinute: 4 });
    try {
      const a = await registerUser(m.t);
      expect((await m.t.http.post(CREATE).set(a.auth).send({})).status).toBe(200);
      expect((await m.t.http.post(CREATE).set(a.auth).send({})).status).toBe(200);
      const third = await m.t.http.post(CREATE).set(a.auth).send({});
      expect(third.status).toBe(429);
      expectMatrixError(third.body, 'M_LIMIT_EXCEEDED');
      const up = await m.t.http.post(UPLOAD).set(a.auth).send(Buffer.from('x'));
      expect(up.status).toBe(200);
      const limited = await m.t.http.post(UPLOAD).set(a.auth).send(Buffer.from('x'));
      expect(limited.status).toBe(429);
      expectMatrixError(limited.body, 'M_LIMIT_EXCEEDED');
    } finally {
      await m.close();
    }
  });

  test('MEDIA_PLAINTEXT=refuse: a recognisable file is refused, ciphertext passes', async () => {
    const m = await startMediaServer({ mediaPlaintext: 'refuse' });
    try {
      const a = await registerUser(m.t);
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toBuffer();
      const refused = await m.t.http.post(UPLOAD).set(a.auth).set('Content-Type', 'image/png').send(png);
      expect(refused.status).toBe(403);
      expectMatrixError(refused.body, 'M_FORBIDDEN');
      expect(refused.body.error).toMatch(/image\/png/);
      expect(await m.blobs()).toEqual([]);
      expect((await m.t.http.post(UPLOAD).set(a.auth).send(Buffer.concat([Buffer.from([0x00, 0x13, 0x37]), randomBytes(5000)]))).status).toBe(200);
    } finally {
      await m.close();
    }
  });

  test('MEDIA_LEGACY_UNAUTHENTICATED=on serves the v3 downloads without a token', async () => {
    const m = await startMediaServer({ mediaLegacyUnauthenticated: true });
    try {
      const a = await registerUser(m.t);
      const res = await m.t.http.post(UPLOAD).set(a.auth).send(Buffer.from('legacy bytes'));
      const id = mediaIdOf(res.body.content_uri);
      const legacy = await m.t.http.get(`/_matrix/media/v3/download/test.local/${id}`).buffer(true);
      expect(legacy.status).toBe(200);
      expect(legacy.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await m.close();
    }
  });
});

describe.each(['fs', 'postgres'] as const)('deleting media on the %s store', (store) => {
  let m: Awaited<ReturnType<typeof startMediaServer>>;
  let t: TestServer;
  let admin: TestUser;
  beforeAll(async () => {
    m = await startMediaServer({ mediaStore: store });
    t = m.t;
    admin = await registerUser(t);
    await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${admin.userId}`;
  });
  afterAll(() => m.close());

  const up = async (u: TestUser, bytes: Buffer, type = 'application/octet-stream') => {
    const res = await t.http.post(UPLOAD).set(u.auth).set('Content-Type', type).send(bytes);
    expect(res.status).toBe(200);
    return mediaIdOf(res.body.content_uri);
  };
  const dl = (u: TestUser, id: string) => t.http.get(`${DOWNLOAD}/test.local/${id}`).set(u.auth).buffer(true);

  test('admin API: one item (its thumbnails too), then all of a user\'s; equal bytes stay while another item holds them', async () => {
    const u = await registerUser(t);
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } }).png().toBuffer();
    const before = await m.blobs();
    const a = await up(u, png, 'image/png');
    const twin = await up(u, png, 'image/png');
    expect((await t.http.get(`${THUMBNAIL}/test.local/${a}?width=32&height=32&method=crop`).set(u.auth)).status).toBe(200);
    const other = await up(u, randomBytes(1000));
    expect((await m.blobs()).length).toBe(before.length + 3); // the png once, its thumbnail, the other

    const res = await t.http.delete(`/_securecomm/admin/v1/media/test.local/${a}`).set(admin.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('adminDeleteMedia', 200, res.body);
    expect((await dl(u, a)).status).toBe(404);
    expect((await dl(u, twin)).status).toBe(200);
    expect((await m.blobs()).length).toBe(before.length + 2); // the thumbnail went; the png stays for its twin

    expect((await t.http.delete(`/_securecomm/admin/v1/media/test.local/${a}`).set(admin.auth)).status).toBe(404);
    expect((await t.http.delete(`/_securecomm/admin/v1/media/test.local/${other}`).set(u.auth)).status).toBe(403);

    const all = await t.http.delete(`/_securecomm/admin/v1/users/${encodeURIComponent(u.userId)}/media`).set(admin.auth);
    expect(all.status).toBe(200);
    expectValidResponseById('adminDeleteUserMedia', 200, all.body);
    expect(all.body).toEqual({ deleted: 2 });
    expect((await dl(u, twin)).status).toBe(404);
    expect((await dl(u, other)).status).toBe(404);
    expect(await m.blobs()).toEqual(before);
  });

  test('deactivation with erase deletes the user\'s media; without erase it stays', async () => {
    const keep = await registerUser(t);
    const kept = await up(keep, randomBytes(100));
    const gone = await registerUser(t);
    const erased = await up(gone, randomBytes(100));
    for (const [u, erase] of [[keep, false], [gone, true]] as const) {
      const res = await t.http.post('/_matrix/client/v3/account/deactivate').set(u.auth).send({ erase, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.userId }, password: u.password } });
      expect(res.status).toBe(200);
    }
    expect((await dl(admin, kept)).status).toBe(200);
    expect((await dl(admin, erased)).status).toBe(404);
    expect((await t.hs.sql`SELECT 1 FROM media WHERE user_id = ${gone.userId}`).length).toBe(0);
  });

  test('the janitor: expired created ids always; with RETENTION on, media not downloaded for MEDIA_RETENTION', async () => {
    const { purgeExpiredMedia } = await import('../../src/relay/media/deletion.js');
    const u = await registerUser(t);
    const created = await t.http.post(CREATE).set(u.auth).send({});
    const pending = mediaIdOf(created.body.content_uri);
    const old = await up(u, randomBytes(100));
    const fresh = await up(u, randomBytes(100));
    const now = Date.now();
    await t.hs.sql`UPDATE media SET last_access_ts = ${now - 10 * 86_400_000} WHERE media_id = ${old}`;
    // Retention off: only the pending id, once expired.
    expect(await purgeExpiredMedia(t.hs, now + 25 * 3600_000)).toBeGreaterThanOrEqual(1);
    expect((await t.hs.sql`SELECT 1 FROM media WHERE media_id = ${pending}`).length).toBe(0);
    expect((await dl(u, old)).status).toBe(200); // this download is an access, recorded
    await t.hs.sql`UPDATE media SET last_access_ts = ${now - 10 * 86_400_000} WHERE media_id = ${old}`;
    const retaining = { ...t.hs, config: { ...t.hs.config, retention: true, mediaRetentionMs: 7 * 86_400_000 } };
    expect(await purgeExpiredMedia(retaining, now)).toBe(1);
    expect((await dl(u, old)).status).toBe(404);
    expect((await dl(u, fresh)).status).toBe(200);
  });

  test('npm run admin: delete-media and delete-user-media', async () => {
    const { runAdminCommand } = await import('../../src/admin.js');
    const u = await registerUser(t);
    const a = await up(u, randomBytes(10));
    const b = await up(u, randomBytes(10));
    const lines: string[] = [];
    await runAdminCommand(t.hs, ['delete-media', `mxc://test.local/${a}`], (l) => lines.push(l));
    await runAdminCommand(t.hs, ['delete-user-media', u.userId], (l) => lines.push(l));
    expect(lines).toEqual([`deleted mxc://test.local/${a}`, `deleted 1 media item of ${u.userId}`]);
    expect((await dl(u, b)).status).toBe(404);
    await expect(runAdminCommand(t.hs, ['delete-media', a], () => {})).rejects.toThrow(/Unknown media/);
  });
});
