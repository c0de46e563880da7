/**
 * The secret-storage key (the recovery key) while this tab needs it: the sdk asks for it through its crypto
 * callbacks when it stores or reads a secret (cross-signing keys, the key backup's key) in secret storage. It lives in
 * memory only, for this page's life: the person shows it once when it is made and types it when a new browser
 * restores. session/client.ts passes `cryptoCallbacks` to createClient.
 */
import type { CryptoCallbacks } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { decodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/recovery-key.js';

let cached: { keyId?: string; key: Uint8Array<ArrayBuffer> } | undefined;

/** A recovery key the person typed (spaces and case as they like); throws a plain error if it is not one. */
export function useRecoveryKey(typed: string): Uint8Array<ArrayBuffer> {
  let key: Uint8Array<ArrayBuffer>;
  try {
    key = decodeRecoveryKey(typed.trim());
  } catch {
    throw new Error('That is not a recovery key: check it (48 letters and digits in groups of four, starting with E).');
  }
  cached = { key };
  return key;
}

export function forgetRecoveryKey(): void {
  cached = undefined;
}

export const cryptoCallbacks: CryptoCallbacks = {
  async getSecretStorageKey({ keys }) {
    if (!cached) return null;
    const ids = Object.keys(keys);
    const keyId = cached.keyId && ids.includes(cached.keyId) ? cached.keyId : ids[0];
    return keyId ? [keyId, cached.key] : null;
  },
  cacheSecretStorageKey(keyId, _info, key) {
    cached = { keyId, key };
  },
};
