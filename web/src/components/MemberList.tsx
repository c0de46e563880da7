/**
 * The room's members, with a shield for who is verified and a button to verify the others by emoji; a member who
 * cannot be verified (a guest, no cross-signing keys) gets a note instead of the button, and a failed start is shown.
 */
import type { Room } from 'matrix-js-sdk';
import { useState } from 'preact/hooks';
import { getClient, getSession } from '../session/client';
import { verifyUser } from '../trust/verification';
import { TrustShield } from './TrustShield';
import { useTrust } from '../trust/use-trust';
import type { MatrixClient } from 'matrix-js-sdk';

function VerifyButton({ client, room, userId, name }: { client: MatrixClient; room: Room; userId: string; name: string }) {
  const trust = useTrust(client, userId);
  const [error, setError] = useState<string>();
  if (getSession()?.isGuest) return null;
  if (trust === 'unverifiable') {
    return (
      <span class="hint verify-note" title={`${name} is a guest or has not set up cross-signing: there is no identity to verify yet.`}>
        Can't be verified yet
      </span>
    );
  }
  if (trust !== 'unverified') return null;
  return (
    <>
      <button
        type="button"
        class="verify-button"
        aria-label={`Verify ${name}`}
        onClick={() => {
          setError(undefined);
          verifyUser(client, userId, room.roomId, name).catch((err: Error) => setError(`Could not start verifying ${name}: ${err.message || String(err)}`));
        }}
      >
        Verify
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

export function MemberList({ room, me }: { room: Room; me: string }) {
  const members = room.getJoinedMembers().sort((a, b) => a.name.localeCompare(b.name));
  const client = getClient();
  return (
    <aside class="members" aria-labelledby="members-title">
      <h2 id="members-title">Members ({members.length})</h2>
      <ul>
        {members.map((m) => (
          <li key={m.userId} title={m.userId}>
            <span class="avatar" aria-hidden="true">
              {m.name.slice(0, 1).toUpperCase()}
            </span>
            <span class="member-name">
              {m.name}
              {m.userId === me ? ' (you)' : ''}
            </span>
            {client && <TrustShield client={client} userId={m.userId} name={m.name} />}
            {client && m.userId !== me && <VerifyButton client={client} room={room} userId={m.userId} name={m.name} />}
          </li>
        ))}
      </ul>
    </aside>
  );
}
