/**
 * The HTTP edge, before any route: Matrix error bodies, request ids and one log line per request (never bodies,
 * tokens, query strings or client addresses) and CORS for browser clients. What a request may contain is checked by
 * the input gate (input-gate.ts). JSON responses get their Content-Type here, in one place.
 */
import { randomUUID } from 'node:crypto';
import { Stream } from 'node:stream';
import type { Context, Next } from 'koa';
import { MatrixError, unknownError } from '../errors.js';
import type { Hs } from '../hs.js';

export function errorMiddleware(hs: Hs) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const known = err instanceof MatrixError ? err : undefined;
      const e = known ?? unknownError();
      if (!known) ctx.state.log?.error({ err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'unexpected error');
      else if (e.status >= 500) ctx.state.log?.warn({ errcode: e.errcode }, e.message);
      ctx.status = e.status;
      ctx.set(e.headers);
      ctx.body = e.body();
    }
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLogMiddleware(hs: Hs) {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = hs.log.child({ req: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Metrics by route template too, never the raw path (relay/metrics.ts).
      hs.metrics?.observeRequest(ctx.method, ctx.state.routePath ?? '(unrouted)', ctx.status, Number(process.hrtime.bigint() - started) / 1e9);
      if (hs.config.logRequests) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        // ctx.state.route is the route pattern (no ids); the raw path is left out to keep metadata out of logs.
        ctx.state.log.info({ method: ctx.method, route: ctx.state.route ?? '(unrouted)', status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }
  };
}

/** Spec: "Web Browser Clients": every response carries these; OPTIONS is answered here. */
export async function corsMiddleware(ctx: Context, next: Next) {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
  ctx.set('Access-Control-Allow-Headers', 'X-Requested-With, Content-Type, Authorization');
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return;
  }
  await next();
}

/**
 * Every JSON response (a route's result or an error body) carries `Content-Type: application/json`, without the
 * `; charset=utf-8` Koa adds: JSON is UTF-8 by definition (RFC 8259 section 8.1), the spec's examples and every
 * other homeserver send it bare, and some older clients compare the header exactly. Bodies that are not JSON (a
 * Buffer or a stream, as media would be) keep the type their route set.
 */
export async function jsonContentTypeMiddleware(ctx: Context, next: Next) {
  await next();
  const body: unknown = ctx.body;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && !(body instanceof Stream)) ctx.set('Content-Type', 'application/json');
}
