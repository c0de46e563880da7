/** The room's invite link, a button that copies it, and the same link as a QR code for a phone's camera. */
import { useEffect, useRef, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { inviteLink } from '../session/invite-link';

export function InvitePanel({ roomId, onClose }: { roomId: string; onClose(): void }) {
  const link = inviteLink(roomId);
  const [qr, setQr] = useState<string>();
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    QRCode.toDataURL(link, { margin: 1, width: 240, errorCorrectionLevel: 'M' }).then(setQr, () => setQr(undefined));
  }, [link]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      input.current?.select();
      document.execCommand?.('copy');
    }
    setCopied(true);
  };
  return (
    <section class="invite" aria-labelledby="invite-title">
      <div class="invite-text">
        <h2 id="invite-title">Invite people</h2>
        <p class="hint">Whoever has this link can join the room and read what is said from then on. Send it only to the people you want here.</p>
        <label for="invite-link">Invite link</label>
        <div class="copy-row">
          <input id="invite-link" ref={input} readOnly value={link} onFocus={(e) => (e.target as HTMLInputElement).select()} />
          <button type="button" class="primary" onClick={copy}>
            {copied ? 'Copied' : 'Copy link'}
          </button>
        </div>
        <p class="sr-status" role="status">
          {copied ? 'The invite link is copied.' : ''}
        </p>
        <button type="button" class="link-button" onClick={onClose}>
          Hide
        </button>
      </div>
      {qr && <img class="qr" src={qr} width={160} height={160} alt="QR code of the invite link, for a phone's camera" />}
    </section>
  );
}
