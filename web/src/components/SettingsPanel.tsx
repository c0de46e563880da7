/** Settings, in place of the room: profile, account, security (trust and recovery), devices, notifications, sign out. */
import type { MatrixClient } from 'matrix-js-sdk';
import { AccountSettings } from './AccountSettings';
import { SecuritySettings } from './SecuritySettings';
import { ProfileSettings } from './ProfileSettings';
import { DevicesSettings } from './DevicesSettings';
import { NotificationSettings, SignOutSettings } from './NotificationSettings';

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
        {!client.isGuest() && <ProfileSettings client={client} />}
        <AccountSettings client={client} />
        <SecuritySettings client={client} />
        {!client.isGuest() && <DevicesSettings client={client} />}
        <NotificationSettings />
        <SignOutSettings />
      </div>
    </main>
  );
}
