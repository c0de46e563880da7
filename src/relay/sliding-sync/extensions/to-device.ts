/**
 * The to_device extension (MSC3885): the device's to-device messages with their own token. `since` is the
 * `next_batch` of the last response the client processed: messages up to it are deleted (acknowledged) in the same
 * statement that reads the next batch, so a response that never reaches the client is delivered again, exactly as
 * /sync's token acknowledges them. The batch is bounded (`limit`, at most TO_DEVICE_PER_SYNC) and reads up to the
 * response's watermark; `next_batch` names the last message it carries.
 */
import { z } from 'zod';
import { TO_DEVICE_PER_SYNC } from '../../to-device.js';
import { toDeviceEvents, type E2eePart } from '../../sync/e2ee.js';
import type { ExtensionBuilder } from './types.js';

export const toDeviceRequestSchema = z.object({
  enabled: z.boolean().nullish(),
  /** The last next_batch: a message id. */
  since: z.string().regex(/^\d{1,15}$/, 'must be the next_batch of a to_device extension response').nullish(),
  limit: z.number().int().min(0).nullish(),
});

/** The message id the client's since acknowledges (every message up to it). */
export function toDeviceAck(request: z.infer<typeof toDeviceRequestSchema>): number | undefined {
  return request.since != null ? Number(request.since) : undefined;
}

/** How many messages a response carries at most. */
export function toDeviceLimit(request: z.infer<typeof toDeviceRequestSchema>): number {
  return Math.min(request.limit ?? TO_DEVICE_PER_SYNC, TO_DEVICE_PER_SYNC);
}

export interface ToDeviceExtension {
  next_batch: string;
  events: E2eePart['to_device']['events'];
}

export const toDeviceExtension: ExtensionBuilder<z.infer<typeof toDeviceRequestSchema>, ToDeviceExtension> = {
  async build({ snapshot }, request) {
    const rows = snapshot.toDevice;
    return { next_batch: String(rows.at(-1)?.messageId ?? toDeviceAck(request) ?? 0), events: toDeviceEvents(rows) };
  },
  isEmpty: (part) => part.events.length === 0,
};
