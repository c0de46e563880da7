/**
 * The state of a settings section's actions: which one is running (`busy`, named so a button can say "Saving…"),
 * and the message or error the last one left. `run` clears both, runs the action, and shows its error if it fails.
 */
import { useState } from 'preact/hooks';

export function useAction() {
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const run = async (what: string, f: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setError(undefined);
    setMessage(undefined);
    try {
      await f();
    } catch (err) {
      setError((err as Error).message || String(err));
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, message, error, setMessage, run };
}
