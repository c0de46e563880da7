/**
 * The chat: the room list, the open room and (on request) its members. On a phone-sized screen the room list is a
 * panel opened from the room's header.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { useClientUpdate } from '../chat/use-client-update';
import { RoomList } from './RoomList';
import { RoomView } from './RoomView';
import { startRoom, whenJoined } from '../session/rooms';
import { getSession } from '../session/client';
import { SettingsPanel } from './SettingsPanel';
import { VerificationDialog } from './VerificationDialog';
import { ensureCrossSigning } from '../trust/recovery';
import { notifyNewMessages } from '../settings/notifications';

interface Props {
  client: MatrixClient;
  initialRoomId?: string;
  initialShowInvite: boolean;
}

export function ChatScreen({ client, initialRoomId, initialShowInvite }: Props) {
  useClientUpdate(client);
  const joinedRooms = client
    .getRooms()
    .filter((r) => r.getMyMembership() === 'join')
    .sort((a, b) => b.getLastActiveTimestamp() - a.getLastActiveTimestamp());
  const [selected, setSelected] = useState<string | undefined>(initialRoomId);
  const [showInvite, setShowInvite] = useState(initialShowInvite);
  const [roomsOpen, setRoomsOpen] = useState(false);
  const [error, setError] = useState<string>();
  const [settingsOpen, setSettingsOpen] = useState(false);
  useEffect(() => {
    ensureCrossSigning(client).catch(() => {});
    return notifyNewMessages(client);
  }, [client]);
  const syncState = client.getSyncState();

  const roomId = selected ?? joinedRooms[0]?.roomId;
  const room = roomId ? client.getRoom(roomId) : null;

  useEffect(() => {
    if (selected && !client.getRoom(selected)) void whenJoined(client, selected);
  }, [client, selected]);

  const newRoom = async () => {
    setError(undefined);
    try {
      const me = client.getUser(client.getSafeUserId())?.displayName ?? 'My';
      const id = await startRoom(client, `${me}'s room ${joinedRooms.length + 1}`);
      setSelected(id);
      setShowInvite(true);
      setRoomsOpen(false);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div class={`chat ${roomsOpen ? 'rooms-open' : ''}`}>
      <aside class="sidebar" id="room-list" aria-label="Rooms">
        <header class="sidebar-header">
          <span class="app-name">SecureComm</span>
          <span class="me" title={client.getUserId() ?? ''}>
            {client.getUser(client.getSafeUserId())?.displayName ?? client.getUserId()}
          </span>
        </header>
        <RoomList
          client={client}
          rooms={joinedRooms}
          selected={roomId}
          onSelect={(id) => {
            setSelected(id);
            setSettingsOpen(false);
            setShowInvite(false);
            setRoomsOpen(false);
          }}
        />
        {!getSession()?.isGuest && (
          <button type="button" class="new-room" onClick={newRoom}>
            + Start a new room
          </button>
        )}
        <button type="button" aria-expanded={settingsOpen} onClick={() => {
            setSettingsOpen(!settingsOpen);
            setRoomsOpen(false);
          }}>
          Settings &amp; security
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </aside>
      {syncState === 'ERROR' || syncState === 'RECONNECTING' ? (
        <p class="connection" role="status">
          Connection to the server lost: retrying…
        </p>
      ) : null}
      <VerificationDialog client={client} />
      {settingsOpen ? (
        <SettingsPanel client={client} onClose={() => setSettingsOpen(false)} />
      ) : room ? (
        <RoomView
          key={room.roomId}
          client={client}
          room={room}
          showInvite={showInvite}
          onToggleInvite={() => setShowInvite(!showInvite)}
          roomsOpen={roomsOpen}
          onToggleRooms={() => setRoomsOpen(!roomsOpen)}
        />
      ) : (
        <main class="room empty">
          <p role="status">{selected ? 'Joining the room…' : 'You are in no room yet.'}</p>
        </main>
      )}
    </div>
  );
}
