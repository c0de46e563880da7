/**
 * Starting and joining rooms. A started room is private in the directory but joinable by anyone who has its link
 * (join rule public: the link, which holds the room id, is the key to the door), lets guests join, and shows newcomers
 * the history from their join on ("joined"): Megolm keys are never shared for messages sent before someone joined,
 * so earlier messages would only show as undecryptable. The server makes every room encrypted (Megolm) anyway;
 * the sdk sees m.room.encryption in the room state and encrypts.
 */
import type { MatrixClient } from 'matrix-js-sdk';

/**
 * `name` is room state, which the server sees (like every display name): by default "<display name>'s room", which
 * tells the server nothing it does not know already.
 */
export async function startRoom(client: MatrixClient, name = defaultName(client)): Promise<string> {
  const { room_id: roomId } = await client.createRoom({
    preset: 'public_chat' as never,
    visibility: 'private' as never,
    ...(name ? { name } : {}),
    initial_state: [
      { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } },
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } },
    ],
  });
  return roomId;
}

function defaultName(client: MatrixClient): string | undefined {
  const me = client.getUser(client.getSafeUserId())?.displayName;
  return me ? `${me}'s room` : undefined;
}

export async function joinRoom(client: MatrixClient, roomId: string): Promise<string> {
  const room = await client.joinRoom(roomId);
  return room.roomId;
}

/** Resolves when the client knows the room and has joined it (after the join, the next sync brings it). */
export function whenJoined(client: MatrixClient, roomId: string): Promise<void> {
  const isIn = () => client.getRoom(roomId)?.getMyMembership() === 'join';
  if (isIn()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!isIn()) return;
      client.off('Room' as never, check as never);
      client.off('Room.myMembership' as never, check as never);
      client.off('sync' as never, check as never);
      resolve();
    };
    client.on('Room' as never, check as never);
    client.on('Room.myMembership' as never, check as never);
    client.on('sync' as never, check as never);
  });
}
