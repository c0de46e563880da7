/**
 * How an endpoint is declared: method, path, operationId (the spec's name), who may call it, and zod schemas for
 * its body and query. One mechanism authenticates and validates every request before a handler sees it.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { MatrixError, badJson, forbidden, guestForbidden, invalidParam, missingParam, notJson } from '../errors.js';
import type { Hs, Requester } from '../hs.js';
import { authenticate } from './authenticate.js';
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
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  limits?: RouteLimit<B, Q>[];
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
  body?: BS;
  query?: QS;
  limits?: { name: LimitName; cost?: (call: Call<z.output<BS>, z.output<QS>, RequesterFor<A>>) => number }[];
  handler: (call: Call<z.output<BS>, z.output<QS>, RequesterFor<A>>) => Promise<unknown>;
}): Route {
  return r as unknown as Route;
}

export const CLIENT_V3 = '/_matrix/client/v3';
export const CLIENT_V1 = '/_matrix/client/v1';

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
  const query = r.query ? parseInput(r.query, { ...ctx.query }, 'query') : {};
  const call: AnyCall = { hs, ctx, body, query, params, requester };
  for (const limit of r.limits ?? []) {
    const cost = limit.cost ? limit.cost(call) : 1;
    if (cost > 0) await hs.limits.charge(limit.name, requester ? `user:${requester.userId}` : `ip:${ctx.request.ip}`, cost);
  }
  const result = await r.handler(call);
  ctx.status = 200;
  ctx.body = result ?? {};
}
