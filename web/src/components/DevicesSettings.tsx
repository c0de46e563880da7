/** Settings → Devices: one's signed-in devices, and signing out the others (confirmed with the password). */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { PasswordNeeded, withPasswordAuth } from '../trust/uia';

interface Device {
  device_id: string;
  display_name?: string;
  last_seen_ts?: number;
}

export function DevicesSettings({ client }: { client: MatrixClient }) {
  const [devices, setDevices] = useState<Device[]>();
  const [password, setPassword] = useState('');
  const [needPassword, setNeedPassword] = useState(false);
  const [error, setError] = useState<string>();
  const load = () => client.getDevices().then((r) => setDevices(r.devices as Device[]), (err: Error) => setError(err.message));
  useEffect(() => {
    void load();
  }, [client]);
  const mine = client.getDeviceId();

  const signOutDevice = async (id: string) => {
    setError(undefined);
    try {
      await withPasswordAuth(client, (auth) => client.deleteMultipleDevices([id], auth as never), password || undefined);
      setNeedPassword(false);
      setPassword('');
      await load();
    } catch (err) {
      if (err instanceof PasswordNeeded) setNeedPassword(true);
      else setError((err as Error).message);
    }
  };

  return (
    <section class="settings-section" aria-labelledby="devices-title">
      <h2 id="devices-title">Devices</h2>
      {needPassword && (
        <div class="stacked-form">
          <label for="devices-password">Your password, to sign a device out</label>
          <input id="devices-password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </div>
      )}
      <ul class="device-list" aria-label="Your devices">
        {(devices ?? []).map((d) => (
          <li key={d.device_id}>
            <span>
              {d.display_name ?? d.device_id} <code>{d.device_id}</code>
              {d.device_id === mine ? ' (this browser)' : ''}
              {d.last_seen_ts ? <span class="hint"> · last seen {new Date(d.last_seen_ts).toLocaleString()}</span> : null}
            </span>
            {d.device_id !== mine && (
              <button type="button" aria-label={`Sign out ${d.device_id}`} onClick={() => signOutDevice(d.device_id)}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
