/** The rooms one is in, with the number of unread messages in each. */
import type { MatrixClient, Room } from 'matrix-js-sdk';
import { unreadCount } from '../chat/timeline-model';

interface Props {
  client: MatrixClient;
  rooms: Room[];
  selected?: string;
  onSelect(roomId: string): void;
}

export function RoomList({ client, rooms, selected, onSelect }: Props) {
  const me = client.getSafeUserId();
  return (
    <nav aria-label="Your rooms">
      <ul class="room-list">
        {rooms.map((room) => {
          const unread = room.roomId === selected ? 0 : unreadCount(room, me);
          return (
            <li key={room.roomId}>
              <button
                type="button"
                class={`room-entry ${room.roomId === selected ? 'selected' : ''}`}
                aria-current={room.roomId === selected ? 'true' : undefined}
                onClick={() => onSelect(room.roomId)}
              >
                <span class="room-name">{room.name}</span>
                {unread > 0 && (
                  <span class="unread" aria-label={`${unread} unread`}>
                    {unread}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
