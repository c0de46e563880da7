/** Which advertised spec versions oblige the server to accept the access_token query parameter (relay/versions.ts). */
import { expect, test } from '@jest/globals';
import type { Context } from 'koa';
import { bearerToken } from '../../src/api/authenticate.js';
import { MatrixError } from '../../src/errors.js';
import { ACCEPTS_QUERY_ACCESS_TOKEN, queryAccessTokenRequired, SPEC_VERSIONS } from '../../src/relay/versions.js';

test('required while any advertised version is v1.19 or older (r0.x to v1.10 define it, v1.11 to v1.19 deprecate it)', () => {
  expect(queryAccessTokenRequired(['r0.6.1'])).toBe(true);
  expect(queryAccessTokenRequired(['v1.1'])).toBe(true);
  expect(queryAccessTokenRequired(['v1.10'])).toBe(true);
  expect(queryAccessTokenRequired(['v1.11', 'v1.12'])).toBe(true);
  expect(queryAccessTokenRequired(['v1.19'])).toBe(true);
  expect(queryAccessTokenRequired(['v1.19', 'v1.20'])).toBe(true);
  // Only versions that no longer have it in their text: the server may refuse it.
  expect(queryAccessTokenRequired(['v1.20', 'v1.21'])).toBe(false);
  expect(queryAccessTokenRequired(['v2.0'])).toBe(false);
  expect(queryAccessTokenRequired([])).toBe(false);
});

test('the server accepts it with what it advertises today', () => {
  expect(ACCEPTS_QUERY_ACCESS_TOKEN).toBe(queryAccessTokenRequired(SPEC_VERSIONS));
  expect(ACCEPTS_QUERY_ACCESS_TOKEN).toBe(true);
});

test('a server that no longer must accept it refuses it with the right history, not "removed in v1.11"', () => {
  const ctx = { get: () => '', query: { access_token: 'sct_x' } } as unknown as Context;
  expect(bearerToken(ctx, true)).toBe('sct_x');
  let err: unknown;
  try {
    bearerToken(ctx, false);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MatrixError);
  expect((err as MatrixError).body()).toEqual({
    errcode: 'M_MISSING_TOKEN',
    error: 'Access tokens in the query string are not accepted (removed from the spec after v1.19); send "Authorization: Bearer <token>".',
  });
});
