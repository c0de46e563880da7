/**
 * An attachment in the timeline, decrypted in this browser (media/attachments.ts): an image, an audio player for a
 * voice message (with its length and waveform), or a download link for any other file.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AttachmentView as Attachment } from '../media/attachments';
import { decryptedUrl } from '../media/attachments';
import { getClient } from '../session/client';

const seconds = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

const kb = (n?: number) => (n === undefined ? '' : n < 1024 * 1024 ? ` (${Math.max(1, Math.round(n / 1024))} KB)` : ` (${(n / 1024 / 1024).toFixed(1)} MB)`);

export function AttachmentView({ a }: { a: Attachment }) {
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const client = getClient();
    if (!client) return;
    decryptedUrl(client, a).then(setUrl, (err: Error) => setError(err.message));
  }, [a.file.url]);

  if (error) return <p class="body attachment-error">The attachment could not be opened: {error}</p>;
  if (!url) return <p class="body attachment-loading">Decrypting {a.kind === 'image' ? 'the image' : a.voice ? 'the voice message' : a.name}…</p>;
  if (a.kind === 'image') {
    return <img class="attachment-image" src={url} alt={a.name} width={a.w} height={a.h} />;
  }
  if (a.kind === 'audio') {
    return (
      <div class="attachment-audio" data-duration={a.duration} data-waveform-length={a.waveform?.length ?? 0}>
        <span class="attachment-label">
          {a.voice ? 'Voice message' : a.name}
          {a.duration !== undefined ? ` (${seconds(a.duration)})` : ''}
        </span>
        {a.waveform && a.waveform.length > 0 && (
          <span class="waveform" aria-hidden="true">
            {a.waveform.filter((_, i) => i % 2 === 0).map((v, i) => (
              <span key={i} style={{ height: `${Math.max(8, Math.round((v / 1024) * 100))}%` }} />
            ))}
          </span>
        )}
        <audio controls src={url} aria-label={a.voice ? 'Voice message' : a.name} />
      </div>
    );
  }
  return (
    <p class="body">
      <a class="attachment-file" href={url} download={a.name}>
        Download {a.name}
      </a>
      {kb(a.size)}
    </p>
  );
}
