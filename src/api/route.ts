/**
 * How an endpoint is declared: method, path, operationId (the spec's name), who may call it, and zod schemas for
 * its body and query. One mechanism authenticates and validates every request before a handler sees it.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { MatrixError, badJson, forbidden, guestForbidden, invalidParam, missingParam, notJson } from '../errors.js';
import type { Hs, Requester } from '../hs.js';
import { authenticate, QUERY_TOKEN_PARAM } from './authenticate.js';
import type { LimitName } from '../relay/rate-limits.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** none: no token read; optional: a token is used when present; user: a token is needed; admin: an admin's token. */
export type Access = 'none' | 'optional' | 'user' | 'admin';

export interface Call<B, Q, R = Requester | undefined> {
  hs: Hs;
  ctx: Context;
  body: B;
  query: Q;
  params: Record<string, string>;
  /** Who is calling: always set for user/admin routes; for optional routes only when a token was sent. */
  requester: R;
}

type RequesterFor<A extends Access> = A extends 'user' | 'admin' ? Requester : Requester | undefined;

/**
 * A rate limit a route is charged against, per requester (the user; the client address without a token), after
 * validation and before the handler. `cost`: points the request takes (default 1; 0 charges nothing).
 */
export interface RouteLimit<B = unknown, Q = unknown> {
  name: LimitName;
  cost?: (call: Call<B, Q>) => number;
}

export interface Route<B = unknown, Q = unknown> {
  operationId: string;
  method: Method;
  /** Koa router path, e.g. /_matrix/client/v3/devices/:deviceId */
  path: string;
  access: Access;
  /** Guests may call it (the spec's list of guest-accessible endpoints). */
  guests?: boolean;
  /** The handler confirms the access token in its own read (relay/authentication.ts): a cached session may be used. */
  confirmsToken?: boolean;
  /**
   * The endpoint existed in the r0 API (r0.6.1, the last release before v1.1), so it is also served under the legacy
   * r0 prefix by the same handler (servedPaths): /_matrix/client/v3 -> /_matrix/client/r0, /_matrix/media/v3 ->
   * /_matrix/media/r0. Never for an endpoint a later version added (test/http/legacy-r0.test.ts holds the r0 list).
   */
  r0?: boolean;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  limits?: RouteLimit<B, Q>[];
  /** The body is not JSON: the edge leaves it unread and the handler streams ctx.req itself (media uploads). */
  streamsBody?: boolean;
  /** The handler writes the response itself (status, headers, a stream: media downloads); its result is ignored. */
  writesResponse?: boolean;
  handler: (call: Call<B, Q>) => Promise<unknown>;
}

type AnyCall = Call<unknown, unknown>;

/** Typed constructor: infers B and Q from the schemas so handlers see parsed types. */
export function route<A extends Access, BS extends z.ZodType = z.ZodType<unknown>, QS extends z.ZodType = z.ZodType<unknown>>(r: {
  operationId: string;
  method: Method;
  path: string;
  access: A;
  guests?: boolean;
  confirmsToken?: boolean;
  r0?: boolean;
  body?: BS;
  query?: QS;
  limits?: { name: LimitName; cost?: (call: Call<z.output<BS>, z.output<QS>, RequesterFor<A>>) => number }[];
  streamsBody?: boolean;
  writesResponse?: boolean;
  handler: (call: Call<z.output<BS>, z.output<QS>, RequesterFor<A>>) => Promise<unknown>;
}): Route {
  return r as unknown as Route;
}

export const CLIENT_V3 = '/_matrix/client/v3';
export const CLIENT_V1 = '/_matrix/client/v1';
/** The legacy prefix of the r0 releases; older clients and bots (matrix-nio 0.20) still call it. */
export const CLIENT_R0 = '/_matrix/client/r0';
export const MEDIA_R0 = '/_matrix/media/r0';

/** The r0 prefix of each current prefix that has one. */
const R0_PREFIXES: [current: string, r0: string][] = [
  [CLIENT_V3, CLIENT_R0],
  ['/_matrix/media/v3', MEDIA_R0],
];

/** Every path a route answers on: its own and, for a route declared `r0: true`, the same path under the r0 prefix. */
export function servedPaths(r: Route): string[] {
  if (!r.r0) return [r.path];
  const prefix = R0_PREFIXES.find(([current]) => r.path.startsWith(`${current}/`));
  if (!prefix) throw new Error(`${r.operationId}: only ${R0_PREFIXES.map(([current]) => current).join(' and ')} routes have an r0 alias`);
  return [r.path, prefix[1] + r.path.slice(prefix[0].length)];
}

function fieldName(path: PropertyKey[]): string {
  return path.length === 0 ? 'body' : path.map(String).join('.');
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** A zod failure as a Matrix error: absent field -> M_MISSING_PARAM; otherwise M_BAD_JSON (body) or M_INVALID_PARAM (query). */
function validationError(error: z.ZodError, input: unknown, where: 'body' | 'query'): MatrixError {
  const issue = error.issues[0];
  const name = fieldName(issue.path);
  if (issue.path.length > 0 && valueAt(input, issue.path) === undefined && issue.code === 'invalid_type') {
    return missingParam(`Missing ${where === 'query' ? 'query parameter' : 'field'} '${name}'.`);
  }
  const msg = `Invalid ${where === 'query' ? 'query parameter' : 'field'} '${name}': ${issue.message}`;
  return where === 'query' ? invalidParam(msg) : badJson(msg);
}

export function parseInput<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query'): T {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error, input, where);
  return result.data;
}

/** Runs one declared route for a request: authenticate, validate, call, and answer 200 with the result. */
export async function runRoute(hs: Hs, r: Route, ctx: Context, params: Record<string, string>): Promise<void> {
  const requester = r.access === 'none' ? undefined : await authenticate(hs, ctx, r.access !== 'optional', r.confirmsToken === true);
  if (requester) {
    if (requester.isGuest && !r.guests) throw guestForbidden();
    if (r.access === 'admin' && !requester.isAdmin) throw forbidden('You are not a server admin.');
  }
  ctx.state.userId = requester?.userId;
  const raw: unknown = ctx.state.rawBody;
  let body: unknown = undefined;
  if (r.body) {
    const input = raw === undefined ? {} : raw;
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw notJson('The request body must be a JSON object.');
    body = parseInput(r.body, input, 'body');
  }
  // A token sent in the query string was read by authenticate; handlers never see it.
  const { [QUERY_TOKEN_PARAM]: _token, ...rest } = ctx.query;
  const query = r.query ? parseInput(r.query, r.access === 'none' ? { ...ctx.query } : rest, 'query') : {};
  const call: AnyCall = { hs, ctx, body, query, params, requester };
  for (const limit of r.limits ?? []) {
    const cost = limit.cost ? limit.cost(call) : 1;
    if (cost > 0) await hs.limits.charge(limit.name, requester ? `user:${requester.userId}` : `ip:${ctx.request.ip}`, cost);
  }
  const result = await r.handler(call);
  if (r.writesResponse) return;
  ctx.status = 200;
  ctx.body = result ?? {};
}
