/**
 * Emoji verification (SAS) as the sdk's CryptoApi runs it: of another person in a room they share
 * (requestVerificationDM) or of one's own other device (requestOwnUserVerification). One verification at a time is
 * shown (VerificationDialog); this module keeps it and tells the dialog when it changes. Incoming requests (the
 * sdk's VerificationRequestReceived) become the shown one too. The emoji comparison and the signatures are the sdk's.
 * Once one's own devices have verified each other, the backup key arrives by secret sharing and the history is
 * restored from the backup (trust/recovery.ts).
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { restoreAfterSelfVerification } from './recovery';
import { CryptoEvent, VerificationPhase, VerifierEvent, type ShowSasCallbacks, type VerificationRequest, type Verifier } from 'matrix-js-sdk/lib/crypto-api/index.js';

export { VerificationPhase };

export interface ActiveVerification {
  request: VerificationRequest;
  /** The emoji to compare, once both sides have exchanged keys. */
  sas?: ShowSasCallbacks;
  /** Whom we verify, in words ("Bob", "your other device"). */
  label: string;
  error?: string;
  /** After a verification with one's own other device: the history restored from the backup (how many keys). */
  restored?: number;
}

let active: ActiveVerification | undefined;
const listeners = new Set<() => void>();

function changed(): void {
  for (const l of listeners) l();
}

export function activeVerification(): ActiveVerification | undefined {
  return active;
}

export function onVerificationChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function closeVerification(): void {
  const r = active?.request;
  active = undefined;
  if (r && r.phase !== VerificationPhase.Done && r.phase !== VerificationPhase.Cancelled) r.cancel().catch(() => {});
  changed();
}

/** Follows a request: the initiator starts SAS once the other side is ready; either side runs its verifier. */
function track(client: MatrixClient, request: VerificationRequest, label: string): void {
  const mine: ActiveVerification = { request, label };
  active = mine;
  let verifier: Verifier | undefined;
  let starting = false;
  let restoring = false;
  const runVerifier = (v: Verifier) => {
    if (verifier) return;
    verifier = v;
    v.on(VerifierEvent.ShowSas, (sas: ShowSasCallbacks) => {
      mine.sas = sas;
      changed();
    });
    v.verify().catch((err: Error) => {
      mine.error = err.message;
      changed();
    });
  };
  const step = () => {
    if (active !== mine) return;
    if (request.phase === VerificationPhase.Ready && request.initiatedByMe && !starting) {
      starting = true;
      request.startVerification('m.sas.v1').then(runVerifier, (err: Error) => {
        mine.error = err.message;
        changed();
      });
    }
    if (request.verifier) runVerifier(request.verifier);
    if (request.phase === VerificationPhase.Done && request.isSelfVerification && !restoring) {
      restoring = true;
      restoreAfterSelfVerification(client).then(
        (n) => {
          mine.restored = n;
          changed();
        },
        () => {},
      );
    }
    changed();
  };
  request.on('change' as never, step as never);
  step();
}

export async function verifyUser(client: MatrixClient, userId: string, roomId: string, label: string): Promise<void> {
  const request = await client.getCrypto()!.requestVerificationDM(userId, roomId);
  track(client, request, label);
}

export async function verifyOwnDevice(client: MatrixClient): Promise<void> {
  const request = await client.getCrypto()!.requestOwnUserVerification();
  track(client, request, 'your other device');
}

/** Incoming requests become the shown verification (unless one is already under way). */
export function listenForRequests(client: MatrixClient): () => void {
  const onRequest = (request: VerificationRequest) => {
    if (active && active.request.phase !== VerificationPhase.Done && active.request.phase !== VerificationPhase.Cancelled) return;
    const label = request.isSelfVerification ? 'your other device' : (client.getUser(request.otherUserId)?.displayName ?? request.otherUserId);
    track(client, request, label);
  };
  client.on(CryptoEvent.VerificationRequestReceived as never, onRequest as never);
  return () => client.off(CryptoEvent.VerificationRequestReceived as never, onRequest as never);
}
