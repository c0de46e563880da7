/**
 * Serving the web client (src/web/serve.ts): the page at / and at the invite-link path with a strict
 * Content-Security-Policy and no-cache, hashed assets cached for a year (the WebAssembly as application/wasm), a
 * missing asset or any other path left to the API (404 M_UNRECOGNIZED as before), WEB_CLIENT=off serving the API
 * only, a page that says how to build it when dist/web is missing, and HTTPS served by the server itself
 * (TLS_CERT, TLS_KEY) for browsers on other machines.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { spawnSync } from 'node:child_process';
import { startTestServer, testConfig, type TestServer } from '../support/server.js';
import { createTestDatabase } from '../support/db.js';
import { PROJECT_ROOT } from '../support/process.js';
import { startServer } from '../../src/main.js';
import { expectMatrixError } from '../support/spec.js';
import { buildWebClient } from '../support/browser.js';
import { CONTENT_SECURITY_POLICY, defaultWebRoot, webClientMiddleware } from '../../src/web/serve.js';

let t: TestServer;
let off: TestServer;

beforeAll(async () => {
  buildWebClient();
  t = await startTestServer();
  off = await startTestServer({ webClient: false });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await off?.close();
});

describe('WEB_CLIENT=on (the default)', () => {
  test('the page: index.html with a strict CSP, no-cache, nosniff, no framing', async () => {
    const res = await t.http.get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.text).toContain('<div id="app">');
    // No inline script: every script has a src on this origin.
    expect(res.text).not.toMatch(/<script(?![^>]*\ssrc="\/)[^>]*>/);
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  test('the invite-link path opens the same page (SPA fallback); HEAD too', async () => {
    const page = await t.http.get('/');
    const res = await t.http.get(`/join/${encodeURIComponent('!abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG')}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(page.text);
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const head = await t.http.head('/');
    expect(head.status).toBe(200);
  });

  test('hashed assets are cached for a year, with their types; the WebAssembly is application/wasm', async () => {
    const page = await t.http.get('/');
    const assets = [...page.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(1);
    for (const a of assets) {
      const res = await t.http.get(a);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-type']).toMatch(/^(text\/javascript|text\/css)/);
    }
    // The crypto's WebAssembly is fetched by a lazily loaded chunk: found in the build.
    const wasm = readdirSync(join(defaultWebRoot(), 'assets')).find((f) => /^matrix_sdk_crypto_wasm_bg-[\w-]+\.wasm$/.test(f));
    expect(wasm).toBeDefined();
    const res = await t.http.get(`/assets/${wasm}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/wasm');
    expect(res.headers['cache-control']).toContain('immutable');
  });

  test('the API is unchanged: unknown /_matrix paths, unknown assets and other methods get Matrix errors', async () => {
    for (const path of ['/_matrix/client/v3/nope', '/assets/nope-123.js', '/join', '/nope', '/join/a/b']) {
      const res = await t.http.get(path);
      expect([path, res.status, res.body.errcode]).toEqual([path, 404, 'M_UNRECOGNIZED']);
      expectMatrixError(res.body, 'M_UNRECOGNIZED');
    }
    const post = await t.http.post('/').send({});
    expect([post.status, post.body.errcode]).toEqual([404, 'M_UNRECOGNIZED']);
    const versions = await t.http.get('/_matrix/client/versions');
    expect(versions.status).toBe(200);
  });
});

test('the web build runs only when web/ changed: built now, the next run says nothing', () => {
  const again = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build.mjs'), '--web'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect([again.status, again.stderr, again.stdout]).toEqual([0, '', '']);
});

test('WEB_CLIENT=off: only the API, / is 404 M_UNRECOGNIZED', async () => {
  for (const path of ['/', '/index.html', '/join/!abc', '/favicon.svg']) {
    const res = await off.http.get(path);
    expect([path, res.status, res.body.errcode]).toEqual([path, 404, 'M_UNRECOGNIZED']);
  }
  expect((await off.http.get('/_matrix/client/versions')).status).toBe(200);
});

test('a missing build: the page says how to build it (503), assets fall through', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'securecomm-web-'));
  try {
    const app = new Koa();
    app.use(webClientMiddleware(empty));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request.' };
    });
    const http = request(app.callback());
    const res = await http.get('/');
    expect(res.status).toBe(503);
    expect(res.text).toContain('npm run build');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect((await http.get('/assets/x.js')).status).toBe(404);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('TLS_CERT and TLS_KEY: the server speaks HTTPS itself, page and API', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'securecomm-tls-'));
  const cert = join(dir, 'fullchain.pem');
  const key = join(dir, 'privkey.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
  expect(made.status).toBe(0);
  const db = await createTestDatabase();
  const running = await startServer(testConfig({ port: 0, databaseUrl: db.url, tlsCert: cert, tlsKey: key }));
  try {
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await request(running.url).get('/').disableTLSCerts();
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const versions = await request(running.url).get('/_matrix/client/versions').disableTLSCerts();
    expect(versions.status).toBe(200);
    expect(versions.body.versions.length).toBeGreaterThan(0);
  } finally {
    await running.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
