/**
 * Who is verified, for the shields: a person is verified when our cross-signing identity has signed theirs (after an
 * emoji verification); oneself when this device is signed by one's own identity; a person without cross-signing keys
 * (a guest) cannot be verified at all. Statuses are asked of the sdk's
 * crypto, kept per user and asked again when the sdk reports a change of trust, devices or keys.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';

/** 'unverifiable': another person without cross-signing keys (a guest, or an account that has not set them up yet). */
export type Trust = 'verified' | 'unverified' | 'unverifiable' | 'unknown';

const known = new Map<string, Trust>();
const pending = new Map<string, Promise<void>>();
/** Users whose status changed while it was being asked: asked again after. */
const dirty = new Set<string>();
const listeners = new Set<() => void>();
let watching: MatrixClient | undefined;

async function ask(client: MatrixClient, userId: string): Promise<Trust> {
  const crypto = client.getCrypto();
  if (!crypto) return 'unknown';
  if (userId === client.getUserId()) {
    const device = await crypto.getDeviceVerificationStatus(userId, client.getDeviceId() ?? '');
    return device?.crossSigningVerified ? 'verified' : 'unverified';
  }
  const status = await crypto.getUserVerificationStatus(userId);
  if (status.isCrossSigningVerified()) return 'verified';
  return (await crypto.userHasCrossSigningKeys(userId)) ? 'unverified' : 'unverifiable';
}

function refresh(client: MatrixClient, userId: string): void {
  if (pending.has(userId)) {
    dirty.add(userId);
    return;
  }
  const p = ask(client, userId)
    .then((t) => {
      if (known.get(userId) !== t) {
        known.set(userId, t);
        for (const l of listeners) l();
      }
    })
    .catch(() => {})
    .finally(() => {
      pending.delete(userId);
      if (dirty.delete(userId)) refresh(client, userId);
    });
  pending.set(userId, p);
}

function watch(client: MatrixClient): void {
  if (watching === client) return;
  watching = client;
  const again = () => {
    for (const userId of known.keys()) refresh(client, userId);
  };
  for (const e of [CryptoEvent.UserTrustStatusChanged, CryptoEvent.DevicesUpdated, CryptoEvent.KeysChanged]) client.on(e as never, again as never);
  // A signature uploaded by another device reaches us as a key change; asking again now and then catches any missed.
  setInterval(again, 5_000);
}

export function useTrust(client: MatrixClient, userId: string): Trust {
  const [, setTick] = useState(0);
  useEffect(() => {
    watch(client);
    const l = () => setTick((n) => n + 1);
    listeners.add(l);
    if (!known.has(userId)) known.set(userId, 'unknown');
    refresh(client, userId);
    return () => {
      listeners.delete(l);
    };
  }, [client, userId]);
  return known.get(userId) ?? 'unknown';
}
