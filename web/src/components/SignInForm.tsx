/**
 * Signing in on a new browser with one's user id and password (set in Settings on the first browser). `then`: the
 * page to open with the new session (an invite link opened there joins its room).
 */
import { useState } from 'preact/hooks';
import { signIn } from '../settings/account';

export function SignInForm({ then = '/' }: { then?: string }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <form
      class="stacked-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          await signIn(user, password);
          window.location.assign(then);
        } catch (err) {
          setError((err as Error).message);
          setBusy(false);
        }
      }}
    >
      <label for="signin-user">User id</label>
      <input id="signin-user" autoComplete="username" placeholder="@you:this.server" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
      <label for="signin-password">Password</label>
      <input id="signin-password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      <button type="submit" class="primary" disabled={busy || !user || !password}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
