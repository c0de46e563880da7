/**
 * URL previews with MEDIA_URL_PREVIEW=on, against a local web server: OpenGraph title, description and image (the
 * image stored as media, its mxc URI, size and dimensions in the preview), the cache per URL and hour, pages that are
 * not HTML, oversized and slow pages, redirects. The SSRF refusals run on a server without an allowed network, so
 * loopback is refused as it is in production: 127.0.0.1, 10.x, 169.254.x, [::1], IPv4-mapped forms, names that
 * resolve to loopback, a redirect to a private address; the local web server is never reached. Malformed URLs are
 * 400 M_INVALID_PARAM, never 500.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import sharp from 'sharp';
import { freePort } from '../support/ports.js';
import { registerUser, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById, ourSchemas } from '../support/spec.js';
import { startMediaServer } from '../support/media-server.js';
import { purgeExpiredMedia } from '../../src/relay/media/deletion.js';

const PREVIEW = '/_matrix/client/v1/media/preview_url';

describe('URL previews (MEDIA_URL_PREVIEW=on)', () => {
  let origin: http.Server;
  let port: number;
  let base: string;
  const hits: string[] = [];
  let png: Buffer;
  let allowed: Awaited<ReturnType<typeof startMediaServer>>;
  let strict: Awaited<ReturnType<typeof startMediaServer>>;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#00ff00' } }).png().toBuffer();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    origin = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const html = (body: string) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(body);
      };
      switch (req.url) {
        case '/page':
          return html(`<!doctype html><html><head><title>Fallback</title>
            <meta property="og:title" content="A &amp; B">
            <meta property="og:description" content="  What the page says.  ">
            <meta property="og:image" content="/img.png"><meta property="og:image:width" content="9999">
            <script>document.write('<meta property="og:title" content="script">')</script></head><body>hi</body></html>`);
        case '/title-only':
          return html('<html><head><title>Just a title</title><meta name="description" content="Described."></head></html>');
        case '/img.png':
          res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
          return res.end(png);
        case '/private-image':
          return html('<meta property="og:title" content="T"><meta property="og:image" content="http://169.254.169.254/latest/meta-data.png">');
        case '/plain':
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          return res.end('just text');
        case '/pdf':
          res.writeHead(200, { 'Content-Type': 'application/pdf' });
          return res.end('%PDF-1.4');
        case '/big': {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          const piece = Buffer.alloc(64 * 1024, 'a');
          let sent = 0;
          const more = () => {
            while (sent < 3 * 1024 * 1024) {
              sent += piece.length;
              if (!res.write(piece)) return void res.once('drain', more);
            }
            res.end();
          };
          return more();
        }
        case '/big-declared':
          res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': String(50 * 1024 * 1024) });
          return res.write('<html>');
        case '/slow':
          return; // never answers
        case '/missing':
          res.writeHead(404);
          return res.end();
        case '/to-page':
          res.writeHead(302, { Location: '/page' });
          return res.end();
        case '/to-private':
          res.writeHead(302, { Location: 'http://10.0.0.1/admin' });
          return res.end();
        case '/to-metadata':
          res.writeHead(301, { Location: 'http://169.254.169.254/latest/' });
          return res.end();
        case '/to-other-loopback':
          res.writeHead(302, { Location: `http://127.0.0.2:${port}/page` });
          return res.end();
        case '/to-file':
          res.writeHead(302, { Location: 'file:///etc/passwd' });
          return res.end();
        case '/loop':
          res.writeHead(302, { Location: '/loop' });
          return res.end();
        default:
          res.writeHead(404);
          res.end();
      }
    });
    await new Promise<void>((resolve) => origin.listen(port, '127.0.0.1', resolve));
    // Loopback is refused like any private address; the test's web server is let through by the operator setting
    // for intranets, for 127.0.0.1 only.
    allowed = await startMediaServer({ mediaUrlPreview: true, mediaUrlPreviewAllowNetworks: ['127.0.0.1/32'], mediaUrlPreviewTimeoutMs: 1500 });
    strict = await startMediaServer({ mediaUrlPreview: true, rateLimits: true, mediaUrlPreviewRatePerMinute: 40 });
    alice = await registerUser(allowed.t);
    bob = await registerUser(strict.t);
  });
  afterAll(async () => {
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
    await allowed.close();
    await strict.close();
  });

  const preview = (s: typeof allowed, u: TestUser, url: string, extra: Record<string, string | number> = {}) =>
    s.t.http.get(PREVIEW).query({ url, ...extra }).set(u.auth);

  test('OpenGraph title and description; og:image fetched, stored as media, given as mxc with size and dimensions', async () => {
    const res = await preview(allowed, alice, `${base}/page`);
    expect(res.status).toBe(200);
    expectValidResponseById('getUrlPreviewAuthed', 200, res.body);
    expect(res.body).toEqual({
      'og:title': 'A & B',
      'og:description': 'What the page says.',
      'og:image': expect.stringMatching(/^mxc:\/\/test\.local\/[A-Za-z0-9]+$/),
      'og:image:type': 'image/png',
      'og:image:width': 64,
      'og:image:height': 48,
      'matrix:image:size': png.length,
    });
    const id = String(res.body['og:image']).split('/').pop();
    const img = await allowed.t.http.get(`/_matrix/client/v1/media/download/test.local/${id}`).set(alice.auth).buffer(true);
    expect(img.status).toBe(200);
    expect(Buffer.compare(img.body as Buffer, png)).toBe(0);
    // The deprecated path answers the same (from the cache).
    const legacy = await allowed.t.http.get('/_matrix/media/v3/preview_url').query({ url: `${base}/page` }).set(alice.auth);
    expect(legacy.body).toEqual(res.body);
  });

  test('cached per URL and hour: a second ask does not fetch again; another hour does', async () => {
    const before = hits.filter((h) => h === '/title-only').length;
    const first = await preview(allowed, alice, `${base}/title-only`);
    expect(first.body).toEqual({ 'og:title': 'Just a title', 'og:description': 'Described.' });
    await preview(allowed, alice, `${base}/title-only`);
    expect(hits.filter((h) => h === '/title-only').length).toBe(before + 1);
    await preview(allowed, alice, `${base}/title-only`, { ts: Date.now() - 3 * 3600_000 });
    expect(hits.filter((h) => h === '/title-only').length).toBe(before + 2);
    expect((await allowed.t.hs.sql`SELECT 1 FROM media_url_previews WHERE url = ${`${base}/title-only`}`).length).toBe(2);
  });

  test('the media janitor deletes previews older than a day', async () => {
    const now = Date.now();
    await allowed.t.hs.sql`INSERT INTO media_url_previews (url, hour, preview, created_ts) VALUES ('https://old.example/', 1, '{}', ${now - 25 * 3600_000}), ('https://new.example/', 2, '{}', ${now})`;
    await purgeExpiredMedia(allowed.t.hs, now);
    const left = await allowed.t.hs.sql<{ url: string }[]>`SELECT url FROM media_url_previews WHERE url LIKE 'https://%.example/'`;
    expect(left.map((r) => r.url)).toEqual(['https://new.example/']);
  });

  test('redirects are followed under the same rules; an image on a private address is left out', async () => {
    const res = await preview(allowed, alice, `${base}/to-page`);
    expect([res.status, res.body['og:title']]).toEqual([200, 'A & B']);
    const noImage = await preview(allowed, alice, `${base}/private-image`);
    expect([noImage.status, noImage.body]).toEqual([200, { 'og:title': 'T' }]);
  });

  test('a page that is not HTML previews as nothing; an image as itself', async () => {
    for (const p of ['/plain', '/pdf']) {
      const res = await preview(allowed, alice, `${base}${p}`);
      expect([p, res.status, res.body]).toEqual([p, 200, {}]);
    }
    const img = await preview(allowed, alice, `${base}/img.png`);
    expect(img.body).toMatchObject({ 'og:image:type': 'image/png', 'og:image:width': 64, 'matrix:image:size': png.length });
  });

  const expectError = (res: { status: number; body: Record<string, unknown> }, status: number, errcode: string) => {
    expect([status, errcode, res.status]).toEqual([status, errcode, status]);
    expectMatrixError(res.body, errcode);
    ourSchemas().checkById('getUrlPreviewAuthed', status, res.body);
  };

  test('oversized pages (streamed or declared), slow pages, 404s, redirect loops and redirects to file: are refused', async () => {
    expectError(await preview(allowed, alice, `${base}/big`), 502, 'M_UNKNOWN');
    expectError(await preview(allowed, alice, `${base}/big-declared`), 502, 'M_UNKNOWN');
    const started = Date.now();
    expectError(await preview(allowed, alice, `${base}/slow`), 504, 'M_UNKNOWN');
    expect(Date.now() - started).toBeLessThan(10_000);
    expectError(await preview(allowed, alice, `${base}/missing`), 502, 'M_UNKNOWN');
    expectError(await preview(allowed, alice, `${base}/loop`), 502, 'M_UNKNOWN');
    expectError(await preview(allowed, alice, `${base}/to-file`), 502, 'M_UNKNOWN');
  });

  test('redirects to private, link-local or other loopback addresses are refused (403)', async () => {
    for (const p of ['/to-private', '/to-metadata', '/to-other-loopback']) {
      const res = await preview(allowed, alice, `${base}${p}`);
      expectError(res, 403, 'M_FORBIDDEN');
      expect(res.body.error).toMatch(/not public/);
    }
  });

  test('without an allowed network: loopback, private, link-local, IPv6 local and IPv4-mapped addresses are refused before connecting', async () => {
    const before = hits.length;
    const refused = [
      `${base}/page`, `http://127.0.0.1:${port}/`, `http://localhost:${port}/page`, `http://2130706433:${port}/page`, `http://0x7f.1:${port}/page`,
      'http://10.0.0.1/', 'http://10.255.255.255:8080/x', 'http://192.168.1.1/', 'http://172.16.0.1/', 'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0/', 'http://224.0.0.1/', 'http://255.255.255.255/',
      `http://[::1]:${port}/page`, `http://[::ffff:127.0.0.1]:${port}/page`, `http://[::ffff:7f00:1]:${port}/`, 'http://[::ffff:10.0.0.1]/',
      'http://[fd00::1]/', 'http://[fe80::1]/', 'http://[ff02::1]/', 'http://[::]/', 'http://[64:ff9b::7f00:1]/', 'http://[2002:7f00:1::]/',
      `https://127.0.0.1:${port}/`,
    ];
    for (const url of refused) {
      const res = await preview(strict, bob, url);
      expect([url, res.status]).toEqual([url, 403]);
      expectMatrixError(res.body, 'M_FORBIDDEN');
    }
    expect(hits.length).toBe(before);
  });

  test('malformed URLs and parameters: 400, never 500', async () => {
    for (const url of ['', 'not a url', 'ftp://example.org/', 'file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,hi', 'http://user:pass@example.org/', 'http://user@example.org/', 'http://', 'http://[::1', 'http://exa mple.org/', `http://example.org/${'a'.repeat(3000)}`, 'http://%zz/', 'mxc://test.local/abc']) {
      const res = await preview(strict, bob, url);
      expect([url, res.status, res.body.errcode]).toEqual([url, 400, 'M_INVALID_PARAM']);
      expectMatrixError(res.body, 'M_INVALID_PARAM');
    }
    const missing = await strict.t.http.get(PREVIEW).set(bob.auth);
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    expect((await preview(strict, bob, 'https://example.org/', { ts: 'yesterday' })).status).toBe(400);
  });

  test('a host name DNS cannot carry (a label over 63, a name over 253 characters, an empty label): 400, not the resolver\'s 502', async () => {
    const carol = await registerUser(strict.t);
    for (const url of [`http://${'a'.repeat(64)}.example.org/`, `http://${'abcdefghi.'.repeat(26)}org/`, 'http://a..example.org/']) {
      const res = await preview(strict, carol, url);
      expect([url, res.status, res.body.errcode]).toEqual([url, 400, 'M_INVALID_PARAM']);
    }
  });

  test('rate limited per user (RATE_LIMIT_URL_PREVIEWS_PER_MINUTE)', async () => {
    const carol = await registerUser(strict.t);
    let status = 0;
    for (let i = 0; i < 41 && status !== 429; i++) status = (await preview(strict, carol, 'http://10.0.0.1/')).status;
    expect(status).toBe(429);
  });
});
