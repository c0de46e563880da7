/**
 * The display-name form both ways in share: a labelled field, one button, a busy state and a plain error; and, where
 * the server asks new people for one, an invite code field (the registration token) with what it is and where to get
 * it. An error about the code marks that field invalid and moves the focus to it.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { InviteCodeField } from './InviteCodeField';

/** Thrown by onSubmit when the invite code is missing or refused: the message goes with the code field. */
export class InviteCodeProblem extends Error {}

interface Props {
  id: string;
  button: string;
  busyText: string;
  /** Show the invite code field, with this explanation under its label. */
  inviteCode?: string;
  onSubmit(name: string, inviteCode?: string): Promise<void>;
}

export function NameForm({ id, button, busyText, inviteCode, onSubmit }: Props) {
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [codeInvalid, setCodeInvalid] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (codeInvalid) codeInput.current?.focus();
  }, [codeInvalid, error]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setError('Pick a name first: it is how the others will see you.');
      return;
    }
    if (inviteCode !== undefined && !code.trim()) {
      setCodeInvalid(true);
      setError('Enter your invite code first: this server asks new people for one.');
      return;
    }
    setBusy(true);
    setError(undefined);
    setCodeInvalid(false);
    try {
      await onSubmit(trimmed, inviteCode !== undefined ? code.trim() : undefined);
    } catch (err) {
      setCodeInvalid(err instanceof InviteCodeProblem);
      setError((err as Error).message || String(err));
      setBusy(false);
    }
  };
  const errorId = `${id}-error`;
  return (
    <form class="name-form" onSubmit={submit} aria-describedby={error ? errorId : undefined}>
      <label for={`${id}-name`}>Your name</label>
      <input
        id={`${id}-name`}
        name="displayname"
        autoComplete="nickname"
        maxLength={64}
        value={name}
        disabled={busy}
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
        placeholder="e.g. Sam"
      />
      {inviteCode !== undefined && (
        <InviteCodeField
          id={`${id}-invite-code`}
          hint={inviteCode}
          hintClass="field-hint"
          value={code}
          onInput={setCode}
          invalid={codeInvalid}
          errorId={errorId}
          inputRef={codeInput}
          disabled={busy}
        />
      )}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? busyText : button}
      </button>
      {error && (
        <p id={errorId} class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
