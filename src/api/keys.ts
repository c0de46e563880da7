/** End-to-end keys: upload, query, claim, and which users' devices changed between two tokens. */
import { z } from 'zod';
import { claimKeys, queryKeys, uploadKeys } from '../relay/keys/keys.js';
import { deviceListChanges } from '../relay/keys/device-lists.js';
import { parseStreamToken } from '../relay/sync/token.js';
import { hasMasterKey, isSameCrossSigning, uploadCrossSigningKeys } from '../relay/keys/cross-signing.js';
import { uploadSignatures } from '../relay/keys/signature-upload.js';
import { endUia, requireUia } from '../relay/uia.js';
import { checkCrossSigningUpload, checkKeysUpload } from '../relay/policy.js';
import { userIdSchema } from '../lib/identifiers.js';
import { CLIENT_V3, route } from './route.js';

const userId = userIdSchema;
const signatures = z.record(z.string(), z.record(z.string(), z.string()));
const deviceKeys = z.looseObject({
  user_id: z.string(),
  device_id: z.string(),
  algorithms: z.array(z.string()).max(32),
  keys: z.record(z.string(), z.string()),
  signatures,
});
/** signed_curve25519 keys are objects ({key, signatures}); older algorithms were bare strings. */
const oneTimeKey = z.union([z.string(), z.looseObject({ key: z.string(), signatures: signatures.optional(), fallback: z.boolean().optional() })]);
const keyMap = z.record(z.string(), oneTimeKey);

const crossSigningKey = z.looseObject({
  user_id: z.string(),
  usage: z.array(z.string()).min(1).max(8),
  keys: z.record(z.string(), z.string()),
  signatures: signatures.optional(),
});

export const keyRoutes = [
  /** POST /_matrix/client/v3/keys/device_signing/upload */
  route({
    operationId: 'uploadCrossSigningKeys',
    method: 'POST',
    path: `${CLIENT_V3}/keys/device_signing/upload`,
    access: 'user',
    body: z.object({
      master_key: crossSigningKey.optional(),
      self_signing_key: crossSigningKey.optional(),
      user_signing_key: crossSigningKey.optional(),
      auth: z.unknown().optional(),
    }),
    handler: async ({ hs, requester, body }) => {
      checkCrossSigningUpload({ master_key: body.master_key, self_signing_key: body.self_signing_key, user_signing_key: body.user_signing_key });
      const upload = { master: body.master_key, self_signing: body.self_signing_key, user_signing: body.user_signing_key };
      if (await isSameCrossSigning(hs, requester.userId, upload)) return {};
      // The first upload may go without UIA (clients bootstrap cross-signing right after login); replacing needs the password.
      const needsAuth = await hasMasterKey(hs, requester.userId);
      const passed = needsAuth
        ? await requireUia(hs, body.auth, { purpose: 'cross_signing_upload', flows: [['m.login.password']], userId: requester.userId })
        : undefined;
      await uploadCrossSigningKeys(hs, requester.userId, upload);
      if (passed) await endUia(hs, passed);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/keys/signatures/upload */
  route({
    operationId: 'uploadCrossSigningSignatures',
    method: 'POST',
    path: `${CLIENT_V3}/keys/signatures/upload`,
    access: 'user',
    body: z.record(userId, z.record(z.string(), z.record(z.string(), z.unknown()))),
    handler: async ({ hs, requester, body }) => uploadSignatures(hs, requester, body),
  }),
  /** POST /_matrix/client/v3/keys/upload */
  route({
    operationId: 'uploadKeys',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/keys/upload`,
    access: 'user',
    guests: true,
    body: z.object({ device_keys: deviceKeys.optional(), one_time_keys: keyMap.optional(), fallback_keys: keyMap.optional() }),
    handler: async ({ hs, requester, body }) => {
      checkKeysUpload(body);
      return uploadKeys(hs, requester, body as never);
    },
  }),
  /** POST /_matrix/client/v3/keys/query */
  route({
    operationId: 'queryKeys',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/keys/query`,
    access: 'user',
    guests: true,
    body: z.object({ device_keys: z.record(userId, z.array(z.string())), timeout: z.number().int().min(0).optional() }),
    handler: async ({ hs, requester, body }) => queryKeys(hs, requester, body.device_keys),
  }),
  /** POST /_matrix/client/v3/keys/claim */
  route({
    operationId: 'claimKeys',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/keys/claim`,
    access: 'user',
    guests: true,
    body: z.object({ one_time_keys: z.record(userId, z.record(z.string(), z.string())), timeout: z.number().int().min(0).optional() }),
    // One point per device claimed for; how many one-time keys of one device a user gets is claimKeys' business.
    limits: [{ name: 'key_claim', cost: ({ body }) => Object.values(body.one_time_keys).reduce((n, devices) => n + Object.keys(devices).length, 0) }],
    handler: async ({ hs, requester, body }) => claimKeys(hs, requester, body.one_time_keys),
  }),
  /** GET /_matrix/client/v3/keys/changes */
  route({
    operationId: 'getKeysChanges',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/keys/changes`,
    access: 'user',
    query: z.object({ from: z.string(), to: z.string() }),
    handler: async ({ hs, requester, query }) => {
      return deviceListChanges(hs, requester.userId, parseStreamToken(query.from, 'from'), parseStreamToken(query.to, 'to'));
    },
  }),
];
