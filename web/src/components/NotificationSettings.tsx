/** Settings → Notifications (settings/notifications.ts) and signing out (settings/sign-out.ts). */
import { useState } from 'preact/hooks';
import { notificationsOn, notificationsSupported, turnNotificationsOff, turnNotificationsOn } from '../settings/notifications';
import { signOutAndForget } from '../settings/sign-out';

export function NotificationSettings() {
  const [on, setOn] = useState(notificationsOn());
  const [note, setNote] = useState<string>();
  return (
    <section class="settings-section" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      {!notificationsSupported() ? (
        <p class="hint">This browser cannot show notifications.</p>
      ) : (
        <>
          <p role="status">{on ? 'Notifications are on: new messages are announced while this tab is hidden.' : 'Notifications are off.'}</p>
          <button
            type="button"
            onClick={async () => {
              if (on) {
                turnNotificationsOff();
                setOn(false);
              } else {
                const ok = await turnNotificationsOn();
                setOn(ok);
                setNote(ok ? undefined : 'The browser did not allow notifications: allow them in its site settings.');
              }
            }}
          >
            {on ? 'Turn notifications off' : 'Turn notifications on'}
          </button>
          {note && <p class="hint">{note}</p>}
        </>
      )}
    </section>
  );
}

export function SignOutSettings() {
  const [busy, setBusy] = useState(false);
  return (
    <section class="settings-section" aria-labelledby="signout-title">
      <h2 id="signout-title">Sign out</h2>
      <p class="hint">Signs this browser out and deletes everything it kept: your session, the history and the keys. Without a password and a recovery key, you cannot come back to this account.</p>
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          await signOutAndForget();
          window.location.assign('/');
        }}
      >
        {busy ? 'Signing out…' : 'Sign out of this browser'}
      </button>
    </section>
  );
}
