/**
 * Settings → Profile: the display name and the avatar. The avatar is a public picture (PNG or JPEG), uploaded in
 * the clear like every profile picture (the server makes its thumbnails); it is shown through the authenticated
 * thumbnail endpoint (fetch with the access token, a blob: URL).
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { useAction } from './use-action';
import { fetchMedia } from '../media/attachments';

export function ProfileSettings({ client }: { client: MatrixClient }) {
  const me = client.getUser(client.getSafeUserId());
  const [name, setName] = useState(me?.displayName ?? '');
  const [avatarMxc, setAvatarMxc] = useState<string | undefined>(me?.avatarUrl);
  const [avatarUrl, setAvatarUrl] = useState<string>();
  const { busy, message, error, setMessage, run } = useAction();

  useEffect(() => {
    if (!avatarMxc) return;
    let url: string | undefined;
    fetchMedia(client, avatarMxc, { width: 96, height: 96 }).then(
      (blob) => setAvatarUrl((url = URL.createObjectURL(blob))),
      () => setAvatarUrl(undefined),
    );
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, avatarMxc]);

  return (
    <section class="settings-section" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <p class="hint">Your name and picture are seen by the people in your rooms, and by the server.</p>
      <form
        class="stacked-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run('name', async () => {
            await client.setDisplayName(name.trim());
            setMessage('Your name is changed.');
          });
        }}
      >
        <label for="display-name">Display name</label>
        <input id="display-name" maxLength={64} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" disabled={busy !== undefined || name.trim() === ''}>
          Save name
        </button>
      </form>
      <div class="avatar-row">
        {avatarUrl ? <img class="avatar-preview" src={avatarUrl} alt="Your picture" width={64} height={64} /> : <span class="avatar-preview empty" aria-hidden="true" />}
        <label class="file-button">
          <span>{avatarMxc ? 'Change picture' : 'Add a picture'}</span>
          <input
            id="avatar-input"
            type="file"
            accept="image/png,image/jpeg"
            class="visually-hidden"
            disabled={busy !== undefined}
            onChange={(e) => {
              const el = e.target as HTMLInputElement;
              const file = el.files?.[0];
              el.value = '';
              if (!file) return;
              void run('avatar', async () => {
                if (file.type !== 'image/png' && file.type !== 'image/jpeg') throw new Error('Pick a PNG or JPEG picture.');
                const { content_uri: mxc } = await client.uploadContent(file, { type: file.type, includeFilename: false });
                await client.setAvatarUrl(mxc);
                setAvatarMxc(mxc);
                setMessage('Your picture is changed.');
              });
            }}
          />
        </label>
      </div>
      {message && <p role="status">{message}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
