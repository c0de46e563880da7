/**
 * Settings → Account: who one is (the user id, needed to sign in elsewhere), keeping a guest account, and protecting
 * a device-kept account with a password of one's own (needed to sign in on another browser).
 */
import { useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { useAction } from './use-action';
import { getSession } from '../session/client';
import { keepGuestAccount, setPassword } from '../settings/account';

export function AccountSettings({ client }: { client: MatrixClient }) {
  const session = getSession();
  const [pw, setPw] = useState('');
  const [current, setCurrent] = useState('');
  const { busy, message, error, setMessage, run } = useAction();
  const kept = session?.generatedPassword !== undefined;

  return (
    <section class="settings-section" aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      <p>
        Your user id: <code>{client.getUserId()}</code>
      </p>
      {session?.isGuest ? (
        <>
          <p class="hint">You are a guest: you can chat in this room. Keep the account to verify people, back up your keys and send attachments.</p>
          <button
            type="button"
            class="primary"
            disabled={busy !== undefined}
            onClick={() =>
              run('keep', async () => {
                await keepGuestAccount();
                window.location.reload();
              })
            }
          >
            Keep this account
          </button>
        </>
      ) : (
        <form
          class="stacked-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run('password', async () => {
              await setPassword(client, pw, kept ? undefined : current);
              setPw('');
              setCurrent('');
              setMessage('Your password is set. Sign in with your user id and this password on another browser.');
            });
          }}
        >
          <p class="hint">
            {kept
              ? 'This browser keeps your account: set a password to sign in on another browser too.'
              : 'Your account is protected by your password.'}
          </p>
          {!kept && (
            <>
              <label for="current-password">Current password</label>
              <input id="current-password" type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
            </>
          )}
          <label for="new-password">{kept ? 'Password' : 'New password'}</label>
          <input id="new-password" type="password" autoComplete="new-password" minLength={8} value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" disabled={busy !== undefined || pw.length < 8}>
            {kept ? 'Set password' : 'Change password'}
          </button>
        </form>
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
