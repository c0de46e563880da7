/** The room's members. */
import type { Room } from 'matrix-js-sdk';

export function MemberList({ room, me }: { room: Room; me: string }) {
  const members = room.getJoinedMembers().sort((a, b) => a.name.localeCompare(b.name));
  return (
    <aside class="members" aria-labelledby="members-title">
      <h2 id="members-title">Members ({members.length})</h2>
      <ul>
        {members.map((m) => (
          <li key={m.userId} title={m.userId}>
            <span class="avatar" aria-hidden="true">
              {m.name.slice(0, 1).toUpperCase()}
            </span>
            {m.name}
            {m.userId === me ? ' (you)' : ''}
          </li>
        ))}
      </ul>
    </aside>
  );
}
