/**
 * The invite code (registration token) field, where the server asks new people for one: its label, what it is and
 * where to get one, and, after a refused code, the invalid mark and the error it is described by. The landing and
 * join forms (NameForm) and "Keep this account" (AccountSettings) show the same field.
 */
import type { Ref } from 'preact';

/** Under the invite code field: what it is and where to get one. */
export const INVITE_CODE_EXPLANATION =
  'This server lets new people in with an invite code (a registration token) from whoever runs it. Ask them, or the person who invited you, for one.';

interface Props {
  id: string;
  /** The text under the label (INVITE_CODE_EXPLANATION, or a reason why this form needs a code). */
  hint: string;
  /** The class of that text in its form's layout. */
  hintClass: string;
  value: string;
  onInput(value: string): void;
  invalid: boolean;
  /** The id of the form's error message, which describes the field while it is marked invalid. */
  errorId: string;
  inputRef: Ref<HTMLInputElement>;
  disabled?: boolean;
}

export function InviteCodeField({ id, hint, hintClass, value, onInput, invalid, errorId, inputRef, disabled }: Props) {
  const hintId = `${id}-hint`;
  return (
    <>
      <label for={id}>Invite code</label>
      <p id={hintId} class={hintClass}>
        {hint}
      </p>
      <input
        id={id}
        ref={inputRef}
        name="invite-code"
        autoComplete="off"
        autoCapitalize="off"
        spellcheck={false}
        maxLength={64}
        value={value}
        disabled={disabled}
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={invalid ? `${hintId} ${errorId}` : hintId}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
      />
    </>
  );
}
