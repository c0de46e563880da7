/**
 * MEDIA_PLAINTEXT=refuse: an upload whose first bytes carry a known file signature (an image, a PDF, an archive,
 * audio, video: the file-type library's list) is plaintext, not ciphertext, and is refused, so the server keeps only
 * encrypted attachments. Ciphertext is random bytes: a signature of two or three bytes matches one encrypted upload
 * in tens of thousands by chance (docs/media.md), which a client's retry with a fresh key gets past.
 */
import { fileTypeFromBuffer } from 'file-type';
import { forbidden } from '../../errors.js';

/** The recognised format of `head`, if any. */
export async function sniffFormat(head: Buffer): Promise<string | undefined> {
  if (head.length === 0) return undefined;
  return (await fileTypeFromBuffer(head))?.mime;
}

export async function refusePlaintext(head: Buffer): Promise<void> {
  const format = await sniffFormat(head);
  if (format !== undefined) {
    throw forbidden(`This server stores only encrypted media (MEDIA_PLAINTEXT=refuse); the upload is recognisably ${format}.`);
  }
}
