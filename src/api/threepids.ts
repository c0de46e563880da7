/**
 * Third-party identifiers (email addresses, phone numbers): this server keeps none, sends no mail or SMS and talks to
 * no identity server. Reading answers an empty list; every way to add, bind or validate one is refused with the
 * spec's errcode for a server that does not allow them (`m.3pid_changes` is false in /capabilities); removing one
 * that cannot exist succeeds with `no-support`, the spec's answer when no identity server is known.
 */
import { z } from 'zod';
import { threepidDenied, threepidMediumNotSupported } from '../errors.js';
import { CLIENT_V3, route, type Route } from './route.js';

const medium = z.enum(['email', 'msisdn']);
const removal = z.object({ medium, address: z.string(), id_server: z.string().optional() });
const emailTokenRequest = z.object({ client_secret: z.string(), email: z.string(), send_attempt: z.number().int() });
const msisdnTokenRequest = z.object({ client_secret: z.string(), country: z.string(), phone_number: z.string(), send_attempt: z.number().int() });

/**
 * A requestToken endpoint: the body is checked (so a malformed one is a 400 like anywhere else), then refused.
 * All six existed in r0.
 */
function refusedTokenRequest(operationId: string, path: string, body: z.ZodType, refusal: () => Error): Route {
  return route({ operationId, r0: true, method: 'POST', path, access: 'none', body, handler: async () => { throw refusal(); } });
}

export const threepidRoutes = [
  /** GET /_matrix/client/v3/account/3pid */
  route({ operationId: 'getAccount3PIDs', r0: true, method: 'GET', path: `${CLIENT_V3}/account/3pid`, access: 'user', handler: async () => ({ threepids: [] }) }),
  /** POST /_matrix/client/v3/account/3pid (deprecated) */
  route({
    operationId: 'post3PIDs',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/3pid`,
    access: 'user',
    body: z.object({ three_pid_creds: z.object({ client_secret: z.string(), sid: z.string() }) }),
    handler: async () => { throw threepidDenied(); },
  }),
  /** POST /_matrix/client/v3/account/3pid/add */
  route({
    operationId: 'add3PID',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/3pid/add`,
    access: 'user',
    body: z.object({ client_secret: z.string(), sid: z.string(), auth: z.unknown().optional() }),
    handler: async () => { throw threepidDenied(); },
  }),
  /** POST /_matrix/client/v3/account/3pid/bind */
  route({
    operationId: 'bind3PID',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/3pid/bind`,
    access: 'user',
    body: z.object({ client_secret: z.string(), sid: z.string(), id_server: z.string(), id_access_token: z.string() }),
    handler: async () => { throw threepidDenied(); },
  }),
  /** POST /_matrix/client/v3/account/3pid/delete */
  route({
    operationId: 'delete3pidFromAccount',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/3pid/delete`,
    access: 'user',
    body: removal,
    handler: async () => ({ id_server_unbind_result: 'no-support' }),
  }),
  /** POST /_matrix/client/v3/account/3pid/unbind */
  route({
    operationId: 'unbind3pidFromAccount',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/3pid/unbind`,
    access: 'user',
    body: removal,
    handler: async () => ({ id_server_unbind_result: 'no-support' }),
  }),
  refusedTokenRequest('requestTokenTo3PIDEmail', `${CLIENT_V3}/account/3pid/email/requestToken`, emailTokenRequest, threepidMediumNotSupported),
  refusedTokenRequest('requestTokenTo3PIDMSISDN', `${CLIENT_V3}/account/3pid/msisdn/requestToken`, msisdnTokenRequest, threepidMediumNotSupported),
  refusedTokenRequest('requestTokenToRegisterEmail', `${CLIENT_V3}/register/email/requestToken`, emailTokenRequest, threepidDenied),
  refusedTokenRequest('requestTokenToRegisterMSISDN', `${CLIENT_V3}/register/msisdn/requestToken`, msisdnTokenRequest, threepidDenied),
  refusedTokenRequest('requestTokenToResetPasswordEmail', `${CLIENT_V3}/account/password/email/requestToken`, emailTokenRequest, threepidDenied),
  refusedTokenRequest('requestTokenToResetPasswordMSISDN', `${CLIENT_V3}/account/password/msisdn/requestToken`, msisdnTokenRequest, threepidDenied),
];
