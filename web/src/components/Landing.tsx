/**
 * The landing page: start a room with a name (no password to invent), or open an invite link someone sent, or sign
 * in. What "Start a room" needs follows the server's registration (asked once the page opens): nothing, an invite
 * code (a registration token from the administrator), or, where the server makes no accounts here, a note that
 * points to signing in and to invite links instead of a form that cannot work.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { INVITE_CODE_EXPLANATION } from './InviteCodeField';
import { InviteCodeProblem, NameForm } from './NameForm';
import { explainError, homeserver, startRoomAs } from '../session/onboarding';
import { INVALID_INVITE_CODE, NEEDS_INVITE_CODE, REGISTRATION_CLOSED, registrationNeeds, type Registration } from '../session/account';
import { roomIdFromLink } from '../session/invite-link';
import { SignInForm } from './SignInForm';

interface Props {
  onEntered(client: MatrixClient, roomId: string): void;
  onJoinLink(roomId: string): void;
}

export function Landing({ onEntered, onJoinLink }: Props) {
  const [link, setLink] = useState('');
  const [linkError, setLinkError] = useState<string>();
  const [registration, setRegistration] = useState<Registration>();
  useEffect(() => {
    void registrationNeeds(homeserver()).then((r) => r && setRegistration((known) => known ?? r));
  }, []);
  return (
    <main class="landing">
      <header class="brand">
        <h1>SecureComm</h1>
        <p>Encrypted chat rooms. Your messages are encrypted in this browser; the server only ever sees ciphertext.</p>
      </header>
      <section class="card" aria-labelledby="start-title">
        <h2 id="start-title">Start a room</h2>
        {registration === 'closed' ? (
          <p class="hint" id="start-closed">
            This server does not create new accounts from this page: its administrator gives them out. If you have one, sign in below. Someone sent you an
            invite link? Open it: rooms that allow guests let you in without an account, where the server allows guests.
          </p>
        ) : (
          <>
            <p class="hint">Pick the name the others will see. This browser keeps your account: there is no password to invent.</p>
            <NameForm
              id="start"
              button="Start a room"
              busyText="Creating your encrypted room…"
              inviteCode={registration === 'token' ? INVITE_CODE_EXPLANATION : undefined}
              onSubmit={async (name, inviteCode) => {
                try {
                  const { client, roomId } = await startRoomAs(name, inviteCode);
                  onEntered(client, roomId);
                } catch (err) {
                  const code = (err as { errcode?: string }).errcode;
                  if (code === NEEDS_INVITE_CODE) setRegistration('token');
                  if (code === REGISTRATION_CLOSED) setRegistration('closed');
                  if (code === NEEDS_INVITE_CODE || code === INVALID_INVITE_CODE) throw new InviteCodeProblem(explainError(err));
                  throw new Error(explainError(err));
                }
              }}
            />
          </>
        )}
      </section>
      <section class="card" aria-labelledby="link-title">
        <h2 id="link-title">Join by link</h2>
        <p class="hint">Someone sent you a link? Open it, or paste it here.</p>
        <form
          class="name-form"
          onSubmit={(e) => {
            e.preventDefault();
            const roomId = roomIdFromLink(link);
            if (roomId) onJoinLink(roomId);
            else setLinkError('That is not an invite link of this server (it looks like …/join/!room…).');
          }}
        >
          <label for="link-input">Invite link</label>
          <input id="link-input" value={link} onInput={(e) => setLink((e.target as HTMLInputElement).value)} placeholder={`${window.location.origin}/join/…`} />
          <button type="submit">Open link</button>
          {linkError && (
            <p class="error" role="alert">
              {linkError}
            </p>
          )}
        </form>
      </section>
      <section class="card" aria-labelledby="signin-title">
        <h2 id="signin-title">Sign in</h2>
        <p class="hint">Already have an account with a password? Sign in, then restore your history with your recovery key.</p>
        <SignInForm />
      </section>
    </main>
  );
}
