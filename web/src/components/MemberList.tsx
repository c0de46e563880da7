/** The room's members, with a shield for who is verified and a button to verify the others by emoji. */
import type { Room } from 'matrix-js-sdk';
import { getClient, getSession } from '../session/client';
import { verifyUser } from '../trust/verification';
import { TrustShield } from './TrustShield';
import { useTrust } from '../trust/use-trust';
import type { MatrixClient } from 'matrix-js-sdk';

function VerifyButton({ client, room, userId, name }: { client: MatrixClient; room: Room; userId: string; name: string }) {
  const trust = useTrust(client, userId);
  if (trust !== 'unverified' || getSession()?.isGuest) return null;
  return (
    <button type="button" class="verify-button" aria-label={`Verify ${name}`} onClick={() => verifyUser(client, userId, room.roomId, name).catch(() => {})}>
      Verify
    </button>
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
