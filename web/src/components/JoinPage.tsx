/** An invite link opened in a browser with no session: pick a name and join (as a guest where the room allows it). */
import type { MatrixClient } from 'matrix-js-sdk';
import { NameForm } from './NameForm';
import { explainError, joinByLinkAs } from '../session/onboarding';

interface Props {
  roomId: string;
  onEntered(client: MatrixClient, roomId: string): void;
}

export function JoinPage({ roomId, onEntered }: Props) {
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
          onSubmit={async (name) => {
            try {
              const entered = await joinByLinkAs(name, roomId);
              onEntered(entered.client, entered.roomId);
            } catch (err) {
              throw new Error(explainError(err));
            }
          }}
        />
      </section>
    </main>
  );
}
