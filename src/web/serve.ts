/**
 * The web client (issue 17), served by the server itself at `/` (same origin as the API): the files Vite built into
 * dist/web (scripts/build.mjs), with a strict Content-Security-Policy. Only these paths are the page's: `/`,
 * `/index.html`, the hashed bundles under `/assets/`, a few files at the root of the build (icons) and the
 * page's own routes (`/join/...`, the invite link, answered with index.html). Every other path goes on to the API, so
 * the API's routes and its 404 M_UNRECOGNIZED are unchanged. WEB_CLIENT=off leaves this middleware out.
 */
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';

/**
 * No inline script or style, nothing from another origin; 'wasm-unsafe-eval' lets the crypto's WebAssembly compile;
 * blob: and data: images are the QR code and decrypted attachments; media-src blob: for decrypted voice messages.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** The page's own routes: the invite link (/join/<room id>) opens the page, which reads the path. */
const PAGE_ROUTES = /^\/join\/[^/]+\/?$/;

/** dist/web of this checkout: found from this module's place, in src/ (tests) or dist/src/ (npm start). */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'web');
}

interface WebFile {
  body: Buffer;
  type: string;
  cache: string;
}

/** Reads the whole build once (a few MiB, most of it the crypto's WebAssembly); a rebuild needs a restart. */
async function loadBuild(root: string): Promise<Map<string, WebFile> | undefined> {
  if (!existsSync(join(root, 'index.html'))) return undefined;
  const files = new Map<string, WebFile>();
  const walk = async (rel: string) => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() && !e.name.startsWith('.')) {
        const hashed = path.startsWith('/assets/');
        files.set(path, {
          body: await readFile(join(root, path)),
          type: TYPES[extname(e.name)] ?? 'application/octet-stream',
          // Hashed names change with their content: cached for a year. index.html is checked every time.
          cache: hashed ? 'public, max-age=31536000, immutable' : path === '/index.html' ? 'no-cache' : 'public, max-age=3600',
        });
      }
    }
  };
  await walk('');
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>SecureComm</title>
<p>The web client is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it) and reload.</p>`;

/** Koa middleware serving the built page; anything not the page's goes to `next` (the API). */
export function webClientMiddleware(root = defaultWebRoot()) {
  let build: Promise<Map<string, WebFile> | undefined> | undefined;
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const path = ctx.path;
    const isPage = path === '/' || path === '/index.html' || PAGE_ROUTES.test(path);
    const isFile = !isPage && (path.startsWith('/assets/') || /^\/[A-Za-z0-9._-]+\.(svg|png|ico|webmanifest|txt)$/.test(path));
    if (!isPage && !isFile) return next();
    build ??= loadBuild(root).catch(() => undefined);
    const files = await build;
    if (!files) build = undefined; // built later: look again next time
    const file = files?.get(isPage ? '/index.html' : path);
    if (!file) {
      if (isFile) return next();
      ctx.status = 503;
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = NOT_BUILT;
      return;
    }
    ctx.state.route = `${ctx.method} (web client)`;
    ctx.status = 200;
    ctx.set('Content-Type', file.type);
    ctx.set('Cache-Control', file.cache);
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (file.type.startsWith('text/html')) {
      ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
      ctx.set('Permissions-Policy', 'camera=(), geolocation=(), microphone=(self)');
    }
    ctx.body = file.body;
  };
}
