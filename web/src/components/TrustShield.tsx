/**
 * A shield next to a person's name: filled with a tick when they are verified (an emoji verification signed their
 * identity), an outline when not. The words are in its label, for screen readers and the tooltip.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { useTrust } from '../trust/use-trust';

export function TrustShield({ client, userId, name }: { client: MatrixClient; userId: string; name: string }) {
  const trust = useTrust(client, userId);
  const isMe = userId === client.getUserId();
  const label =
    trust === 'verified'
      ? isMe
        ? 'This device is verified'
        : `${name} is verified`
      : trust === 'unverified' || trust === 'unverifiable'
        ? isMe
          ? 'This device is not verified yet'
          : `${name} is not verified`
        : `Checking whether ${name} is verified`;
  return (
    <span class={`shield ${trust}`} role="img" aria-label={label} title={label}>
      <svg viewBox="0 0 16 16" aria-hidden="true" focusable="false">
        <path class="shield-outline" d="M8 1 2.5 3v4.2c0 3.4 2.3 6.4 5.5 7.8 3.2-1.4 5.5-4.4 5.5-7.8V3L8 1z" />
        {trust === 'verified' && <path class="shield-tick" d="m5.2 8.2 1.9 1.9 3.8-3.9" />}
      </svg>
    </span>
  );
}
