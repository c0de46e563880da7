/**
 * Settings → Security: the state of this device's trust and backup in words, and what to do about it:
 * set up a recovery key (shown once, to be written down), restore history in a new browser by typing it, and verify
 * this device from one's other device by emoji.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { useAction } from './use-action';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { recoveryStatus, restoreWithRecoveryKey, setUpRecovery, type RecoveryStatus } from '../trust/recovery';
import { onVerificationChange, verifyOwnDevice } from '../trust/verification';

export function SecuritySettings({ client }: { client: MatrixClient }) {
  const [status, setStatus] = useState<RecoveryStatus>();
  const [shownKey, setShownKey] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [typed, setTyped] = useState('');
  const { busy, message, error, setMessage, run } = useAction();
  const refresh = () => recoveryStatus(client).then(setStatus, () => {});
  useEffect(() => {
    void refresh();
  }, [client]);
  // A verification of this device by the other one changes what this section says: asked again as it goes, when the
  // sdk reports a change of keys or trust (the other device's signature arrives after "done"), and now and then.
  useEffect(() => {
    const again = () => void refresh();
    const stop = onVerificationChange(again);
    const events = [CryptoEvent.UserTrustStatusChanged, CryptoEvent.DevicesUpdated, CryptoEvent.KeysChanged];
    for (const e of events) client.on(e as never, again as never);
    const timer = setInterval(again, 5_000);
    return () => {
      stop();
      for (const e of events) client.off(e as never, again as never);
      clearInterval(timer);
    };
  }, [client]);


  if (client.isGuest()) {
    return (
      <section class="settings-section" aria-labelledby="security-title">
        <h2 id="security-title">Security</h2>
        <p class="hint">Keep this account first (above): guests cannot verify, back up their keys or send attachments.</p>
      </section>
    );
  }

  return (
    <section class="settings-section" aria-labelledby="security-title">
      <h2 id="security-title">Security</h2>
      {status && (
        <ul class="security-status">
          <li>{status.deviceVerified ? 'This device is verified by your account.' : 'This device is not verified yet.'}</li>
          <li>
            {status.backupActive
              ? 'Your message keys are backed up, encrypted with your recovery key.'
              : status.recoverySetUp
                ? 'A recovery key exists for your account: enter it below to restore your history here.'
                : 'No recovery key yet: if you lose this browser, your history is lost with it.'}
          </li>
        </ul>
      )}
      {shownKey ? (
        <div class="recovery-key-box">
          <p>
            <strong>Your recovery key.</strong> Write it down or save it in a password manager now: it is shown only once. With it, a new browser can read
            your history. The server never sees it.
          </p>
          <output class="recovery-key" aria-label="Recovery key">
            {shownKey}
          </output>
          <label class="checkbox">
            <input type="checkbox" checked={saved} onChange={(e) => setSaved((e.target as HTMLInputElement).checked)} /> I have saved my recovery key
          </label>
          <button type="button" class="primary" disabled={!saved} onClick={() => setShownKey(undefined)}>
            Done
          </button>
        </div>
      ) : (
        !status?.recoverySetUp && (
          <button type="button" class="primary" disabled={busy !== undefined} onClick={() => run('setup', async () => setShownKey(await setUpRecovery(client)))}>
            {busy === 'setup' ? 'Setting up…' : 'Set up a recovery key'}
          </button>
        )
      )}
      {status?.recoverySetUp && !status.backupActive && !shownKey && (
        <form
          class="stacked-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run('restore', async () => {
              const n = await restoreWithRecoveryKey(client, typed);
              setTyped('');
              setMessage(`Your history is restored (${n} message keys). This device is now verified.`);
            });
          }}
        >
          <label for="recovery-input">Recovery key</label>
          <input id="recovery-input" autoComplete="off" spellcheck={false} value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" disabled={busy !== undefined || typed.trim() === ''}>
            {busy === 'restore' ? 'Restoring…' : 'Restore my history'}
          </button>
        </form>
      )}
      {status && !status.deviceVerified && status.recoverySetUp && (
        <p class="hint">
          Or verify this device from your other one:{' '}
          <button type="button" disabled={busy !== undefined} onClick={() => run('verify', () => verifyOwnDevice(client))}>
            Verify with my other device
          </button>
        </p>
      )}
      {message && <p role="status">{message}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
