/**
 * Registration: POST /register (UIA with m.login.dummy when open, m.login.registration_token when token-gated;
 * kind=guest for guest accounts; a guest's token upgrades it), username availability, token validity.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { forbidden, missingParam, userInUse } from '../errors.js';
import type { Hs } from '../hs.js';
import { isUsernameAvailable, registerGuest, registerUser, upgradeGuest } from '../relay/accounts.js';
import { endUia, isRegistrationTokenUsable, requireUia, type Stage } from '../relay/uia.js';
import { resolveRequester } from '../relay/authentication.js';
import { bearerToken } from './authenticate.js';
import { CLIENT_V1, CLIENT_V3, parseInput, route } from './route.js';

const registerBody = z.object({
  // Its length is checked with the rest of the user id grammar (M_INVALID_USERNAME), not here.
  username: z.string().optional(),
  password: z.string().optional(),
  device_id: z.string().optional(),
  initial_device_display_name: z.string().max(1000).optional(),
  inhibit_login: z.boolean().optional(),
  refresh_token: z.boolean().optional(),
  guest_access_token: z.string().optional(),
  auth: z.unknown().optional(),
});

/** Spec: for a guest registration, every field but initial_device_display_name MUST be ignored. */
const guestBody = z.object({ initial_device_display_name: z.string().max(1000).optional().catch(undefined) });

/** Spec ("Token-authenticated registration"): a registration token is at most 64 characters. */
const TOKEN_MAX = 64;

function registrationFlows(hs: Hs): Stage[][] {
  if (hs.config.registration === 'token') return [['m.login.registration_token']];
  return [['m.login.dummy']];
}

function clientAddress(ctx: Context): string {
  return ctx.request.ip || 'unknown';
}

/** A guest's own access token, from the Authorization header (or access_token query) or the legacy guest_access_token field. */
async function guestRequester(hs: Hs, ctx: Context, bodyToken: string | undefined) {
  const token = bearerToken(ctx) ?? bodyToken;
  if (token === undefined) return undefined;
  const requester = await resolveRequester(hs, token);
  if (!requester.isGuest) throw forbidden('Already registered: this access token belongs to a full account.');
  return requester;
}

export const registerRoutes = [
  /** POST /_matrix/client/v3/register */
  route({
    operationId: 'register',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/register`,
    access: 'none',
    // The body's shape depends on kind (guests' fields are ignored), so it is parsed in the handler.
    body: z.looseObject({}),
    query: z.object({ kind: z.enum(['user', 'guest']).default('user') }),
    handler: async ({ hs, ctx, body: raw, query }) => {
      // Only an attempt (an auth stage, or a guest account) counts as a registration: asking for the flows is a
      // step before it, which Element takes twice per account (and checks the name as it is typed).
      const attempt = query.kind === 'guest' || raw.auth !== undefined;
      await hs.limits.consume(attempt ? 'register' : 'register_check', clientAddress(ctx));
      if (query.kind === 'guest') {
        if (!hs.config.allowGuests) throw forbidden('Guest access is disabled on this server.');
        const guest = parseInput(guestBody, raw, 'body');
        return registerGuest(hs, { initialDeviceDisplayName: guest.initial_device_display_name });
      }
      const body = parseInput(registerBody, raw, 'body');
      const session = {
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        refreshToken: body.refresh_token,
        inhibitLogin: body.inhibit_login,
      };
      if (hs.config.registration === 'closed') throw forbidden('Registration is closed on this server; ask its administrator for an account.');

      const guest = await guestRequester(hs, ctx, body.guest_access_token);
      // A taken or malformed user name is reported before the client goes through authentication.
      if (!guest && body.username !== undefined && !(await isUsernameAvailable(hs, body.username.toLowerCase()))) {
        throw userInUse('That user id is already taken.');
      }
      if (body.password === undefined && body.auth !== undefined) throw missingParam("Missing field 'password'.");
      const passed = await requireUia(hs, body.auth, { purpose: guest ? `upgrade:${guest.userId}` : 'register', flows: registrationFlows(hs) });
      if (body.password === undefined) throw missingParam("Missing field 'password'.");
      const result = guest
        ? await upgradeGuest(
            hs,
            guest.userId,
            { username: body.username, password: body.password, registrationToken: passed.registrationToken },
            { ...session, deviceId: body.device_id ?? guest.deviceId },
          )
        : await registerUser(hs, { username: body.username, password: body.password, registrationToken: passed.registrationToken }, session);
      await endUia(hs, passed);
      return result;
    },
  }),
  /** GET /_matrix/client/v3/register/available */
  route({
    operationId: 'checkUsernameAvailability',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/register/available`,
    access: 'none',
    query: z.object({ username: z.string() }),
    handler: async ({ hs, ctx, query }) => {
      await hs.limits.consume('register_check', clientAddress(ctx));
      if (!(await isUsernameAvailable(hs, query.username.toLowerCase()))) throw userInUse('That user id is already taken.');
      return { available: true };
    },
  }),
  /** GET /_matrix/client/v1/register/m.login.registration_token/validity */
  route({
    operationId: 'registrationTokenValidity',
    method: 'GET',
    path: `${CLIENT_V1}/register/m.login.registration_token/validity`,
    access: 'none',
    query: z.object({ token: z.string() }),
    handler: async ({ hs, ctx, query }) => {
      await hs.limits.consume('register', clientAddress(ctx));
      if (hs.config.registration !== 'token') throw forbidden('Registration tokens are not used on this server.');
      // Spec: tokens are at most 64 characters, so a longer one is simply not a valid token.
      if (query.token.length > TOKEN_MAX) return { valid: false };
      return { valid: await isRegistrationTokenUsable(hs, query.token) };
    },
  }),
];
