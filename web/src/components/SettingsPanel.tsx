/** Settings, in place of the room: account, security (trust and recovery); more sections plug in here. */
import type { MatrixClient } from 'matrix-js-sdk';
import { AccountSettings } from './AccountSettings';
import { SecuritySettings } from './SecuritySettings';

export function SettingsPanel({ client, onClose }: { client: MatrixClient; onClose(): void }) {
  return (
    <main class="room settings" aria-labelledby="settings-title">
      <header class="room-header">
        <h1 id="settings-title" class="room-title">
          Settings
        </h1>
        <button type="button" onClick={onClose}>
          Back to the chat
        </button>
      </header>
      <div class="settings-body">
        <AccountSettings client={client} />
        <SecuritySettings client={client} />
      </div>
    </main>
  );
}
