/** The display-name form both ways in share: a labelled field, one button, a busy state and a plain error. */
import { useState } from 'preact/hooks';

interface Props {
  id: string;
  button: string;
  busyText: string;
  onSubmit(name: string): Promise<void>;
}

export function NameForm({ id, button, busyText, onSubmit }: Props) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setError('Pick a name first: it is how the others will see you.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit(trimmed);
    } catch (err) {
      setError((err as Error).message || String(err));
      setBusy(false);
    }
  };
  return (
    <form class="name-form" onSubmit={submit} aria-describedby={error ? `${id}-error` : undefined}>
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
      <button type="submit" class="primary" disabled={busy}>
        {busy ? busyText : button}
      </button>
      {error && (
        <p id={`${id}-error`} class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
