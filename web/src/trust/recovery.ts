/**
 * Cross-signing and secure key backup, all done by the sdk's Rust crypto:
 * - ensureCrossSigning: a full account's first device makes the account's cross-signing identity by itself (the
 *   first upload needs no password here; later ones use the kept password, uia.ts), so others can verify it;
 * - setUpRecovery: a new recovery key (shown to the person once), secret storage holding the cross-signing keys
 *   and a new server-side key backup, which from then on receives every room key this device has or gets;
 * - restoreWithRecoveryKey: on a new browser, the recovery key opens secret storage: the cross-signing keys (this
 *   device becomes trusted by the account) and the backup key, then the backup's room keys are imported and the old
 *   messages decrypt (the sdk retries them).
 * The server only ever holds the encrypted secrets and the encrypted backup.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { withPasswordAuth } from './uia';
import { forgetRecoveryKey, useRecoveryKey } from './secret-storage-key';

export interface RecoveryStatus {
  /** The account has a cross-signing identity and this device holds or trusts it. */
  crossSigningReady: boolean;
  /** Secret storage holds the secrets (a recovery key was set up, on this device or another). */
  recoverySetUp: boolean;
  /** This device backs up its keys to the server now. */
  backupActive: boolean;
  /** This device is verified by the account's cross-signing identity. */
  deviceVerified: boolean;
}

export async function recoveryStatus(client: MatrixClient): Promise<RecoveryStatus> {
  const crypto = client.getCrypto();
  if (!crypto) return { crossSigningReady: false, recoverySetUp: false, backupActive: false, deviceVerified: false };
  const [crossSigningReady, hasDefaultKey, backup, device] = await Promise.all([
    crypto.isCrossSigningReady(),
    client.secretStorage.hasKey(),
    crypto.getActiveSessionBackupVersion(),
    crypto.getDeviceVerificationStatus(client.getSafeUserId(), client.getDeviceId() ?? ''),
  ]);
  return { crossSigningReady, recoverySetUp: hasDefaultKey, backupActive: backup !== null, deviceVerified: device?.crossSigningVerified ?? false };
}

/** Makes the account's cross-signing identity if it has none yet (a full account's first device). */
export async function ensureCrossSigning(client: MatrixClient): Promise<void> {
  const crypto = client.getCrypto();
  if (!crypto || client.isGuest()) return;
  if (await crypto.isCrossSigningReady()) return;
  // Another device already made the identity: this one joins it through verification or the recovery key.
  if (await crypto.userHasCrossSigningKeys(client.getSafeUserId(), true)) return;
  await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: (makeRequest) => withPasswordAuth(client, makeRequest) });
}

/** Sets up secret storage and key backup with a new recovery key; returns the key, to be shown once. */
export async function setUpRecovery(client: MatrixClient): Promise<string> {
  const crypto = client.getCrypto();
  if (!crypto) throw new Error('Encryption is not running in this browser.');
  await ensureCrossSigning(client);
  const key = await crypto.createRecoveryKeyFromPassphrase();
  await crypto.bootstrapSecretStorage({ createSecretStorageKey: async () => key, setupNewSecretStorage: true, setupNewKeyBackup: true });
  forgetRecoveryKey();
  if (!key.encodedPrivateKey) throw new Error('The recovery key could not be made.');
  return key.encodedPrivateKey;
}

/** Opens secret storage with a typed recovery key: trusts this device, restores the backed-up keys. Returns how many. */
export async function restoreWithRecoveryKey(client: MatrixClient, typed: string): Promise<number> {
  const crypto = client.getCrypto();
  if (!crypto) throw new Error('Encryption is not running in this browser.');
  if (!(await client.secretStorage.hasKey())) throw new Error('This account has no recovery key set up yet: set one up on the device that has your history.');
  const key = useRecoveryKey(typed);
  try {
    const keyId = await client.secretStorage.getDefaultKeyId();
    const keyInfo = keyId ? (await client.secretStorage.getKey(keyId))?.[1] : undefined;
    if (keyInfo && !(await client.secretStorage.checkKey(key, keyInfo as never))) {
      throw new Error('That recovery key is not the one of this account: check it.');
    }
    // Imports the cross-signing keys from secret storage and signs this device with them.
    await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: (makeRequest) => withPasswordAuth(client, makeRequest) });
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    return result.imported;
  } finally {
    forgetRecoveryKey();
  }
}

/**
 * After one's own other device has verified this one by emoji, it sends the backup key (secret sharing, the sdk's):
 * waits for it (up to `waitMs`), then restores the backed-up message keys so the history decrypts. How many, or
 * undefined when no key came (no backup set up).
 */
export async function restoreAfterSelfVerification(client: MatrixClient, waitMs = 30_000): Promise<number | undefined> {
  const crypto = client.getCrypto();
  if (!crypto) return undefined;
  const deadline = Date.now() + waitMs;
  while (!(await crypto.getSessionBackupPrivateKey())) {
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 500));
  }
  await crypto.checkKeyBackupAndEnable();
  return (await crypto.restoreKeyBackup()).imported;
}
