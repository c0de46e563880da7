/**
 * Encrypted attachments (images, files, voice messages), as the spec's `file` object: the browser encrypts the
 * bytes with matrix-encrypt-attachment (AES-CTR with a fresh key, SHA-256 of the ciphertext), uploads only the
 * ciphertext (POST /_matrix/media/v3/upload, no file name, application/octet-stream), and sends an m.room.message
 * whose content (encrypted by the sdk like any message) carries the key, the name and the type. The receiver
 * downloads the ciphertext from the authenticated endpoint (/_matrix/client/v1/media/download, with the access
 * token: fetch, not an <img src>), checks and decrypts it, and shows it from a blob: URL.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { decryptAttachment, encryptAttachment, type IEncryptedFile } from 'matrix-encrypt-attachment';

export interface EncryptedFileRef extends IEncryptedFile {
  url: string;
}

/** What the timeline shows of an attachment message (attachmentOf reads it from the decrypted content). */
export interface AttachmentView {
  kind: 'image' | 'file' | 'audio';
  name: string;
  file: EncryptedFileRef;
  mimetype: string;
  size?: number;
  w?: number;
  h?: number;
  /** Milliseconds, for audio. */
  duration?: number;
  voice: boolean;
  waveform?: number[];
}

/** Images the page shows inline; anything else is offered as a download. */
const SHOWN_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

type Content = Record<string, unknown>;

export function attachmentOf(content: Content): AttachmentView | undefined {
  const msgtype = content.msgtype;
  if (msgtype !== 'm.image' && msgtype !== 'm.file' && msgtype !== 'm.audio') return undefined;
  const file = content.file as EncryptedFileRef | undefined;
  if (!file || typeof file.url !== 'string' || !file.url.startsWith('mxc://') || !file.key || typeof file.iv !== 'string') return undefined;
  const info = (content.info ?? {}) as Content;
  const mimetype = typeof info.mimetype === 'string' ? info.mimetype : 'application/octet-stream';
  const audio = (content['org.matrix.msc1767.audio'] ?? {}) as Content;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const kind = msgtype === 'm.image' && SHOWN_IMAGES.includes(mimetype) ? 'image' : msgtype === 'm.audio' ? 'audio' : 'file';
  return {
    kind,
    name: typeof content.filename === 'string' ? content.filename : String(content.body ?? 'attachment'),
    file,
    mimetype,
    size: num(info.size),
    w: num(info.w),
    h: num(info.h),
    duration: num(info.duration) ?? num(audio.duration),
    voice: content['org.matrix.msc3245.voice'] !== undefined,
    waveform: Array.isArray(audio.waveform) ? (audio.waveform as unknown[]).filter((x): x is number => typeof x === 'number') : undefined,
  };
}

async function encryptAndUpload(client: MatrixClient, blob: Blob): Promise<EncryptedFileRef> {
  const { data, info } = await encryptAttachment(await blob.arrayBuffer());
  const { content_uri: url } = await client.uploadContent(new Blob([data], { type: 'application/octet-stream' }), {
    type: 'application/octet-stream',
    includeFilename: false,
  });
  return { ...info, url };
}

async function imageSize(blob: Blob): Promise<{ w: number; h: number } | undefined> {
  try {
    const bitmap = await createImageBitmap(blob);
    const size = { w: bitmap.width, h: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return undefined;
  }
}

/** Sends a picked file: an image the page can show as m.image, anything else as m.file. */
export async function sendFile(client: MatrixClient, roomId: string, file: File): Promise<void> {
  const mimetype = file.type || 'application/octet-stream';
  const isImage = SHOWN_IMAGES.includes(mimetype);
  const size = isImage ? await imageSize(file) : undefined;
  const ref = await encryptAndUpload(client, file);
  await client.sendMessage(roomId, {
    msgtype: isImage ? 'm.image' : 'm.file',
    body: file.name,
    filename: file.name,
    info: { mimetype, size: file.size, ...(size ?? {}) },
    file: ref,
  } as never);
}

/** Sends a recorded voice message (m.audio with the voice and extensible-audio markers, MSC3245/MSC1767). */
export async function sendVoice(client: MatrixClient, roomId: string, blob: Blob, durationMs: number, waveform: number[]): Promise<void> {
  const mimetype = blob.type || 'audio/webm';
  const ref = await encryptAndUpload(client, blob);
  const duration = Math.round(durationMs);
  await client.sendMessage(roomId, {
    msgtype: 'm.audio',
    body: 'Voice message',
    filename: `voice-message.${mimetype.includes('ogg') ? 'ogg' : mimetype.includes('mp4') ? 'm4a' : 'webm'}`,
    info: { mimetype, size: blob.size, duration },
    file: ref,
    'org.matrix.msc1767.audio': { duration, waveform },
    'org.matrix.msc3245.voice': {},
  } as never);
}

/** Authenticated download of an mxc:// URI (the browser must send the access token: fetch, not a src attribute). */
export async function fetchMedia(client: MatrixClient, mxc: string, thumbnail?: { width: number; height: number }): Promise<Blob> {
  const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
  if (!m) throw new Error('Not a media address.');
  const base = `/_matrix/client/v1/media/${thumbnail ? 'thumbnail' : 'download'}/${encodeURIComponent(m[1])}/${encodeURIComponent(m[2])}`;
  const url = thumbnail ? `${base}?width=${thumbnail.width}&height=${thumbnail.height}&method=crop` : base;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${client.getAccessToken() ?? ''}` } });
  if (!res.ok) throw new Error(`The file could not be downloaded (${res.status}).`);
  return res.blob();
}

const decrypted = new Map<string, Promise<string>>();

/** The decrypted attachment as a blob: URL (each one fetched and decrypted once per page). */
export function decryptedUrl(client: MatrixClient, a: AttachmentView): Promise<string> {
  let p = decrypted.get(a.file.url);
  if (!p) {
    p = (async () => {
      const cipher = await (await fetchMedia(client, a.file.url)).arrayBuffer();
      const plain = await decryptAttachment(cipher, a.file);
      return URL.createObjectURL(new Blob([plain], { type: a.kind === 'file' ? 'application/octet-stream' : a.mimetype }));
    })();
    p.catch(() => decrypted.delete(a.file.url));
    decrypted.set(a.file.url, p);
  }
  return p;
}
