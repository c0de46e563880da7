/**
 * The emoji verification under way (trust/verification.ts): an incoming request to accept or decline, the wait for
 * the other side, the seven emoji to compare with "They match" / "They don't match", and the outcome. A modal
 * dialog, labelled for screen readers; Escape or Close cancels a verification that is not done.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { activeVerification, closeVerification, listenForRequests, onVerificationChange, VerificationPhase } from '../trust/verification';

export function VerificationDialog({ client }: { client: MatrixClient }) {
  const [, setTick] = useState(0);
  const [busy, setBusy] = useState(false);
  useEffect(() => onVerificationChange(() => setTick((n) => n + 1)), []);
  useEffect(() => listenForRequests(client), [client]);
  const v = activeVerification();
  if (!v) return null;
  const { request, sas, label } = v;
  const phase = request.phase;
  const done = phase === VerificationPhase.Done;
  const cancelled = phase === VerificationPhase.Cancelled;

  let body;
  if (v.error && !done) body = <p role="alert">The verification stopped: {v.error}</p>;
  else if (done)
    body = (
      <>
        <p role="status">{label === 'your other device' ? 'Your other device is verified.' : `${label} is verified.`} A shield marks them from now on.</p>
        {v.restored !== undefined && <p role="status">Your history is restored from your key backup ({v.restored} message keys).</p>}
      </>
    );
  else if (cancelled) body = <p role="status">The verification was cancelled{request.cancellationCode === 'm.mismatched_sas' ? ': the emoji did not match' : ''}.</p>;
  else if (sas?.sas.emoji) {
    body = (
      <>
        <p>Compare these emoji with the ones shown on {label === 'your other device' ? 'your other device' : `${label}'s screen`}. They must be the same, in the same order.</p>
        <ol class="sas-emoji" aria-label="Emoji to compare">
          {sas.sas.emoji.map(([emoji, name], i) => (
            <li key={i}>
              <span class="sas-symbol" aria-hidden="true">
                {emoji}
              </span>
              <span class="sas-name">{name}</span>
            </li>
          ))}
        </ol>
        <div class="dialog-buttons">
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              sas.confirm().catch(() => {}).finally(() => setBusy(false));
            }}
          >
            They match
          </button>
          <button type="button" onClick={() => sas.mismatch()}>
            They don't match
          </button>
        </div>
        {busy && <p role="status">Waiting for the other side to confirm…</p>}
      </>
    );
  } else if (phase === VerificationPhase.Requested && !request.initiatedByMe) {
    body = (
      <>
        <p>{label === 'your other device' ? 'Your other device' : label} wants to verify with you: you will both compare a few emoji.</p>
        <div class="dialog-buttons">
          <button type="button" class="primary" onClick={() => request.accept().catch(() => {})}>
            Start verifying
          </button>
          <button type="button" onClick={closeVerification}>
            Not now
          </button>
        </div>
      </>
    );
  } else {
    body = <p role="status">Waiting for {label === 'your other device' ? 'your other device' : label} to accept…</p>;
  }

  return (
    <div class="dialog-backdrop">
      <section
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="verify-title"
        onKeyDown={(e) => {
          if (e.key === 'Escape') closeVerification();
        }}
      >
        <h2 id="verify-title">Verify {label}</h2>
        {body}
        <button type="button" class="link-button" onClick={closeVerification}>
          {done || cancelled || v.error ? 'Close' : 'Cancel'}
        </button>
      </section>
    </div>
  );
}
