/**
 * The composer's attachment buttons: pick a file or an image (sent encrypted, media/attachments.ts) and record a
 * voice message (media/voice-recorder.ts: Record, then Send or Cancel). Guests cannot upload, so they get none.
 */
import { useRef, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { sendFile, sendVoice } from '../media/attachments';
import { startRecording, type Recorder } from '../media/voice-recorder';

export function AttachControls({ client, roomId, onError }: { client: MatrixClient; roomId: string; onError(err: unknown): void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string>();
  const [recorder, setRecorder] = useState<Recorder>();
  if (client.isGuest()) return null;

  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what);
    try {
      await f();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div class="attach-controls">
      <input
        ref={input}
        id="attach-input"
        type="file"
        class="visually-hidden"
        tabIndex={-1}
        onChange={(e) => {
          const el = e.target as HTMLInputElement;
          const file = el.files?.[0];
          el.value = '';
          if (file) void run('file', () => sendFile(client, roomId, file));
        }}
      />
      {!recorder && (
        <button type="button" disabled={busy !== undefined} onClick={() => input.current?.click()} aria-label="Attach a file or an image">
          {busy === 'file' ? 'Sending…' : 'Attach'}
        </button>
      )}
      {recorder ? (
        <>
          <span class="recording" role="status">
            Recording…
          </span>
          <button
            type="button"
            class="primary"
            onClick={() => {
              setRecorder(undefined);
              void run('voice', async () => {
                const r = await recorder.stop();
                await sendVoice(client, roomId, r.blob, r.durationMs, r.waveform);
              });
            }}
          >
            Send voice message
          </button>
          <button
            type="button"
            onClick={() => {
              recorder.cancel();
              setRecorder(undefined);
            }}
          >
            Cancel
          </button>
        </>
      ) : (
        <button type="button" disabled={busy !== undefined} onClick={() => run('start', async () => setRecorder(await startRecording()))}>
          {busy === 'voice' ? 'Sending…' : 'Record voice'}
        </button>
      )}
    </div>
  );
}
