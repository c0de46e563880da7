/**
 * Sliding sync extensions (MSC4186 with MSC3885 to_device, MSC3884 e2ee, MSC3959 account_data, MSC3960 receipts,
 * MSC3961 typing): the request's `extensions` object and the builder the engine calls once per read, with the
 * response's scope (its stream range, typing range and rooms). Each extension is one file with its request schema,
 * its builder and its emptiness check; only enabled extensions are built and answered. The rules are /sync's,
 * shared with relay/sync/ (to-device acknowledgement, device lists, key counts, account data, receipts, typing).
 * One statement per read (db/sliding-sync-extensions.ts) gives every extension its share; most reads need no more.
 * Rooms that came back into a room extension's scope get what changed while they were out (scope-changes.ts, with
 * the engine's connection state).
 * Their wakes are /sync's (relay/wakes.ts): to-device, device lists and account data wake the user's key, public
 * receipts and typing the room's, which the engine listens to.
 */
import { z } from 'zod';
import { toDeviceAck, toDeviceExtension, toDeviceLimit, toDeviceRequestSchema } from './to-device.js';
import { e2eeExtension, e2eeRequestSchema } from './e2ee.js';
import { accountDataExtension, roomScopedRequestSchema } from './account-data.js';
import { receiptsExtension } from './receipts.js';
import { typingExtension } from './typing.js';
import { readExtensionsSnapshot } from '../../../db/sliding-sync-extensions.js';
import { roomsInScope } from './scope.js';
import type { ExtensionBuilder, ExtensionContext, ExtensionScope } from './types.js';

export type { ExtensionScope } from './types.js';

/** The request's `extensions`; unknown extensions (and unknown keys of known ones) are ignored, as the MSC requires. */
export const extensionsRequestSchema = z.object({
  to_device: toDeviceRequestSchema.nullish(),
  e2ee: e2eeRequestSchema.nullish(),
  account_data: roomScopedRequestSchema.nullish(),
  receipts: roomScopedRequestSchema.nullish(),
  typing: roomScopedRequestSchema.nullish(),
});

export type ExtensionsRequest = z.infer<typeof extensionsRequestSchema>;

type Name = keyof ExtensionsRequest;

const BUILDERS = {
  to_device: toDeviceExtension,
  e2ee: e2eeExtension,
  account_data: accountDataExtension,
  receipts: receiptsExtension,
  typing: typingExtension,
} satisfies { [K in Name]: ExtensionBuilder<NonNullable<ExtensionsRequest[K]>, unknown> };

/** Builds every enabled extension; `empty` when none holds anything (the engine then may wait for a wake). */
export async function buildExtensions(scope: ExtensionScope, request: ExtensionsRequest): Promise<{ extensions: Record<string, unknown>; empty: boolean }> {
  const enabled = (Object.keys(BUILDERS) as Name[]).filter((name) => request[name]?.enabled === true);
  if (enabled.length === 0) return { extensions: {}, empty: true };
  const on = (name: Name) => enabled.includes(name);
  // One statement reads what every enabled extension needs from the database (and acknowledges to-device messages).
  const snapshot = await readExtensionsSnapshot(scope.hs.sql, {
    userId: scope.requester.userId,
    deviceId: scope.requester.deviceId,
    since: scope.since,
    upTo: scope.upTo,
    toDevice: on('to_device') ? { ack: toDeviceAck(request.to_device!), limit: toDeviceLimit(request.to_device!) } : undefined,
    e2ee: on('e2ee'),
    accountData: on('account_data'),
    rooms: [...new Set((['receipts', 'typing'] as const).filter(on).flatMap((n) => roomsInScope(request[n]!, scope.listRooms, scope.subscribedRooms)))],
    receipts: on('receipts'),
  });
  const ctx: ExtensionContext = { ...scope, snapshot };
  const built = await Promise.all(
    enabled.map(async (name) => {
      const builder = BUILDERS[name] as ExtensionBuilder<unknown, unknown>;
      const part = await builder.build(ctx, request[name]);
      return { name, part, empty: builder.isEmpty(part) };
    }),
  );
  return { extensions: Object.fromEntries(built.map((b) => [b.name, b.part])), empty: built.every((b) => b.empty) };
}
