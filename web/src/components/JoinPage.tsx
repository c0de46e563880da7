/**
 * An invite link opened in a browser with no session: pick a name and join (as a guest where the room allows it).
 * Where the room refuses guests, the person needs an account: the form then asks for the invite code if the server
 * wants one, or says that the server makes no accounts here; signing in with an existing account is always offered
 * and comes back to the link.
 */
import { useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { INVITE_CODE_EXPLANATION } from './InviteCodeField';
import { InviteCodeProblem, NameForm } from './NameForm';
import { SignInForm } from './SignInForm';
import { explainError, joinByLinkAs } from '../session/onboarding';
import { inviteLink } from '../session/invite-link';
import { INVALID_INVITE_CODE, NEEDS_INVITE_CODE } from '../session/account';

interface Props {
  roomId: string;
  onEntered(client: MatrixClient, roomId: string): void;
}

export function JoinPage({ roomId, onEntered }: Props) {
  // Set once guests were refused and the server asked for an invite code: later tries go straight to an account.
  const [needsCode, setNeedsCode] = useState(false);
  return (
    <main class="landing">
      <header class="brand">
        <h1>SecureComm</h1>
        <p>You have been invited to an encrypted room. Messages are encrypted in your browser; the server only sees ciphertext.</p>
      </header>
      <section class="card" aria-labelledby="join-title">
        <h2 id="join-title">Join the room</h2>
        <p class="hint">Pick the name the others will see. You will see the messages sent from now on.</p>
        <NameForm
          id="join"
          button="Join the room"
          busyText="Joining…"
          inviteCode={needsCode ? INVITE_CODE_EXPLANATION : undefined}
          onSubmit={async (name, inviteCode) => {
            try {
              const entered = await joinByLinkAs(name, roomId, inviteCode);
              onEntered(entered.client, entered.roomId);
            } catch (err) {
              const code = (err as { errcode?: string }).errcode;
              if (code === NEEDS_INVITE_CODE) setNeedsCode(true);
              if (code === NEEDS_INVITE_CODE || code === INVALID_INVITE_CODE) throw new InviteCodeProblem(explainError(err));
              throw new Error(explainError(err));
            }
          }}
        />
      </section>
      <section class="card" aria-labelledby="signin-title">
        <h2 id="signin-title">Have an account here?</h2>
        <p class="hint">Sign in with your user id and password; you join the room right after.</p>
        <SignInForm then={inviteLink(roomId)} />
      </section>
    </main>
  );
}
