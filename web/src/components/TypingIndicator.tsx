/** Who else is typing in the room, announced politely to screen readers. */
import type { Room } from 'matrix-js-sdk';

export function TypingIndicator({ room, me }: { room: Room; me: string }) {
  const names = room
    .getJoinedMembers()
    .filter((m) => m.typing && m.userId !== me)
    .map((m) => m.name);
  const text = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  return (
    <p class="typing" aria-live="polite">
      {text}
    </p>
  );
}
