/**
 * The input gate: everything a client can put in a request (the path, the query, the headers the server reads, the
 * JSON body) is checked here, before any route, so no handler and no query ever sees a NUL character, an unpaired
 * surrogate, malformed percent-encoding, a body that is not UTF-8, an overlong value, a number past the range of JSON
 * integers or JSON nested past a bound.
 * URL and headers: 400 M_INVALID_PARAM (414 M_TOO_LARGE for an overlong URL); body: 400 M_NOT_JSON / M_BAD_JSON.
 */
import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';
import { MatrixError, badJson, invalidParam, notJson, tooLarge } from '../errors.js';
import type { Hs } from '../hs.js';

/** Longest request target (path and query), in bytes. */
export const MAX_URL_BYTES = 8192;
/** Longest path segment after percent-decoding, in bytes (identifiers are at most 255). */
export const MAX_PATH_SEGMENT_BYTES = 1024;
/** Most query parameters one request may carry. */
export const MAX_QUERY_PARAMS = 50;
/** Deepest JSON nesting accepted, in a body or a JSON query parameter. */
export const MAX_JSON_DEPTH = 100;

/** With the u flag a surrogate pair is one code point, so this matches only a surrogate that is not part of a pair. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a string may not enter: a NUL (PostgreSQL text cannot hold it) or an unpaired surrogate (not Unicode). */
function badCharacters(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'must not contain unpaired surrogates';
  return undefined;
}

/** Strict percent-decoding: malformed escapes and escapes that are not UTF-8 are refused, not passed on raw. */
function decodeComponent(raw: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw invalidParam(`${what} has malformed percent-encoding.`);
  }
  const bad = badCharacters(value);
  if (bad) throw invalidParam(`${what} ${bad}.`);
  return value;
}

function checkPath(path: string): void {
  for (const segment of path.split('/')) {
    if (!segment.includes('%')) {
      if (segment.length > MAX_PATH_SEGMENT_BYTES) throw invalidParam(`A path segment is longer than ${MAX_PATH_SEGMENT_BYTES} bytes.`);
      continue;
    }
    const value = decodeComponent(segment, 'A path segment');
    if (Buffer.byteLength(value) > MAX_PATH_SEGMENT_BYTES) throw invalidParam(`A path segment is longer than ${MAX_PATH_SEGMENT_BYTES} bytes.`);
  }
}

function checkQuery(querystring: string): void {
  if (querystring.length === 0) return;
  const pairs = querystring.split('&');
  if (pairs.length > MAX_QUERY_PARAMS) throw invalidParam(`At most ${MAX_QUERY_PARAMS} query parameters are accepted.`);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = decodeComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '), 'A query parameter name');
    if (eq >= 0) decodeComponent(pair.slice(eq + 1).replace(/\+/g, ' '), `Query parameter '${name}'`);
  }
}

/** Headers the server interprets: printable ASCII only (Node's parser already refuses NUL and control characters). */
const READ_HEADERS = ['authorization'] as const;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Path, query and the headers the server reads; runs before routing. */
export async function urlGateMiddleware(ctx: Context, next: Next): Promise<void> {
  if (Buffer.byteLength(ctx.url) > MAX_URL_BYTES) throw tooLarge(`The request URL is longer than ${MAX_URL_BYTES} bytes.`, 414);
  checkPath(ctx.path);
  checkQuery(ctx.querystring);
  for (const name of READ_HEADERS) {
    const value = ctx.get(name);
    if (!PRINTABLE_ASCII.test(value)) throw invalidParam(`The ${name} header must be printable ASCII.`);
  }
  await next();
}

/**
 * Throws `fail(reason)` when `value` has a NUL or an unpaired surrogate in a string or key, a number beyond the
 * range of JSON integers, or nests deeper than MAX_JSON_DEPTH. Iterative, so the check itself cannot overflow the stack on hostile nesting.
 */
export function checkClientJson(value: unknown, fail: (reason: string) => MatrixError): void {
  const pending: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (pending.length > 0) {
    const { v, depth } = pending.pop()!;
    if (typeof v === 'string') {
      const bad = badCharacters(v);
      if (bad) throw fail(`${bad} (in a string)`);
    } else if (typeof v === 'number') {
      // Spec appendix "Canonical JSON": numbers are integers in [-(2^53)+1, 2^53-1]. Larger ones (and 1e400, which
      // parses as Infinity) would overflow the database's integer columns or lose precision.
      if (!(Math.abs(v) <= Number.MAX_SAFE_INTEGER)) throw fail('must not contain numbers beyond ±(2^53-1)');
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) throw fail(`is nested more than ${MAX_JSON_DEPTH} levels deep`);
      if (Array.isArray(v)) {
        for (const item of v) pending.push({ v: item, depth: depth + 1 });
      } else {
        for (const [k, item] of Object.entries(v)) {
          const bad = badCharacters(k);
          if (bad) throw fail(`${bad} (in a key)`);
          pending.push({ v: item, depth: depth + 1 });
        }
      }
    }
  }
}

/** JSON text from a client (a body or a query parameter), parsed and checked; `fail` makes the error for each case. */
export function parseClientJson(text: string, notJsonError: () => MatrixError, fail: (reason: string) => MatrixError): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw notJsonError();
  }
  checkClientJson(parsed, fail);
  return parsed;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON body (whatever the Content-Type: Matrix bodies are JSON) into ctx.state.rawBody. A route that streams
 * its body (ctx.state.streamsBody: media uploads, which have their own limit, MAX_UPLOAD_BYTES) is left alone.
 */
export function jsonBodyMiddleware(hs: Hs) {
  return async (ctx: Context, next: Next) => {
    if (ctx.state.streamsBody !== true && (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'DELETE')) {
      const declared = Number(ctx.get('content-length') || 0);
      const limit = hs.config.maxBodyBytes;
      if (declared > limit) throw tooLarge(`The request body is larger than ${limit} bytes.`);
      let bytes: Buffer;
      try {
        bytes = await getRawBody(ctx.req, { limit });
      } catch (err) {
        const type = (err as { type?: string }).type;
        if (type === 'entity.too.large') throw tooLarge(`The request body is larger than ${limit} bytes.`);
        if (type === 'request.size.invalid' || type === 'request.aborted') throw notJson('The request body was cut short.');
        throw err;
      }
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        throw notJson('The request body is not valid UTF-8.');
      }
      if (text.trim().length > 0) {
        ctx.state.rawBody = parseClientJson(
          text,
          () => notJson('The request body is not valid JSON.'),
          (reason) => badJson(`The request body ${reason}.`),
        );
      }
    }
    await next();
  };
}
