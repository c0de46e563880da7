/**
 * Writing: a labelled text box (Enter sends, Shift+Enter starts a new line, Escape cancels a reply or an edit),
 * typing notices while the person types, and the reply or edit being made.
 */
import { AttachControls } from './AttachControls';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import type { MessageView } from '../chat/timeline-model';
import { editText, sendText, typingNotifier } from '../chat/actions';

export type ComposerMode = { kind: 'new' } | { kind: 'reply'; to: MessageView } | { kind: 'edit'; of: MessageView };

interface Props {
  client: MatrixClient;
  roomId: string;
  mode: ComposerMode;
  onDone(): void;
  onError(err: unknown): void;
}

export function Composer({ client, roomId, mode, onDone, onError }: Props) {
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const typing = useMemo(() => typingNotifier(client, roomId), [client, roomId]);
  useEffect(() => () => typing.stop(), [typing]);
  useEffect(() => {
    if (mode.kind === 'edit') setText(mode.of.body);
    if (mode.kind !== 'new') box.current?.focus();
  }, [mode]);

  const send = () => {
    const body = text.trim();
    if (!body) return;
    typing.stop();
    const done = mode.kind === 'edit' ? editText(client, roomId, mode.of.id, body) : sendText(client, roomId, body, mode.kind === 'reply' ? mode.to.id : undefined);
    done.catch(onError);
    setText('');
    onDone();
  };
  const cancel = () => {
    if (mode.kind === 'edit') setText('');
    onDone();
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {mode.kind !== 'new' && (
        <div class="composer-context">
          <span>
            {mode.kind === 'reply' ? `Replying to ${mode.to.senderName}: ` : 'Editing your message: '}
            <em>{mode.kind === 'reply' ? mode.to.body || 'a message' : mode.of.body}</em>
          </span>
          <button type="button" class="link-button" onClick={cancel}>
            Cancel
          </button>
        </div>
      )}
      <div class="composer-row">
        <AttachControls client={client} roomId={roomId} onError={onError} />
        <label for="composer-input" class="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={box}
          rows={1}
          value={text}
          placeholder="Write an encrypted message…"
          onInput={(e) => {
            const v = (e.target as HTMLTextAreaElement).value;
            setText(v);
            typing.typed(v.trim() !== '');
          }}
          onBlur={() => typing.stop()}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            } else if (e.key === 'Escape' && mode.kind !== 'new') {
              e.preventDefault();
              cancel();
            }
          }}
        />
        <button type="submit" class="primary" disabled={text.trim() === ''}>
          {mode.kind === 'edit' ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
