/**
 * Settings → Account: who one is (the user id, needed to sign in elsewhere), keeping a guest account (with an invite
 * code where the server asks new accounts for one), and protecting a device-kept account with a password of one's own
 * (needed to sign in on another browser).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { useAction } from './use-action';
import { getSession } from '../session/client';
import { keepGuestAccount, setPassword } from '../settings/account';
import { INVALID_INVITE_CODE, NEEDS_INVITE_CODE, registrationNeeds } from '../session/account';
import { INVITE_CODE_EXPLANATION, InviteCodeField } from './InviteCodeField';

export function AccountSettings({ client }: { client: MatrixClient }) {
  const session = getSession();
  const [pw, setPw] = useState('');
  const [current, setCurrent] = useState('');
  const { busy, message, error, setMessage, run } = useAction();
  const kept = session?.generatedPassword !== undefined;
  const [needsCode, setNeedsCode] = useState(false);
  const [code, setCode] = useState('');
  const [codeInvalid, setCodeInvalid] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (session?.isGuest) void registrationNeeds(window.location.origin).then((r) => r === 'token' && setNeedsCode(true));
  }, []);

  return (
    <section class="settings-section" aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      <p>
        Your user id: <code>{client.getUserId()}</code>
      </p>
      {session?.isGuest ? (
        <>
          <p class="hint">You are a guest: you can chat in this room. Keep the account to verify people, back up your keys and send attachments.</p>
          <form
            class="stacked-form"
            onSubmit={(e) => {
              e.preventDefault();
              void run('keep', async () => {
                setCodeInvalid(false);
                try {
                  await keepGuestAccount(needsCode ? code : undefined);
                } catch (err) {
                  const errcode = (err as { errcode?: string }).errcode;
                  if (errcode === NEEDS_INVITE_CODE) setNeedsCode(true);
                  if (errcode === INVALID_INVITE_CODE) {
                    setCodeInvalid(true);
                    codeInput.current?.focus();
                  }
                  throw err;
                }
                window.location.reload();
              });
            }}
          >
            {needsCode && (
              <InviteCodeField
                id="keep-invite-code"
                hint={INVITE_CODE_EXPLANATION}
                hintClass="hint"
                value={code}
                onInput={setCode}
                invalid={codeInvalid}
                errorId="account-error"
                inputRef={codeInput}
              />
            )}
            <button type="submit" class="primary" disabled={busy !== undefined || (needsCode && !code.trim())}>
              Keep this account
            </button>
          </form>
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
        <p id="account-error" class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
