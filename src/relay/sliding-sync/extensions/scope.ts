/**
 * Which rooms a room-scoped extension (account_data, receipts, typing) covers in one response: the rooms of the
 * lists it names and the room subscriptions it names (`*`: all of them; both default to `*`), and only rooms the
 * response's lists and subscriptions hold (MSC3959/3960/3961 as Synapse serves them).
 */
export interface RoomScopeRequest {
  lists?: string[] | null;
  rooms?: string[] | null;
}

export function roomsInScope(request: RoomScopeRequest, listRooms: Map<string, string[]>, subscribedRooms: string[]): string[] {
  const out = new Set<string>();
  const lists = request.lists ?? ['*'];
  const rooms = request.rooms ?? ['*'];
  for (const name of lists.includes('*') ? listRooms.keys() : lists) for (const roomId of listRooms.get(name) ?? []) out.add(roomId);
  const subscribed = new Set(subscribedRooms);
  for (const roomId of rooms.includes('*') ? subscribedRooms : rooms) if (subscribed.has(roomId)) out.add(roomId);
  return [...out];
}
