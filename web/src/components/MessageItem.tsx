/**
 * One message: who, when, the text (or why it cannot be shown), the message it replies to, reactions, who read up to
 * here, and its actions (reply, react, and for one's own: edit, delete). Every action is a real button.
 */
import { useState } from 'preact/hooks';
import type { MessageView } from '../chat/timeline-model';
import { KeyIcon } from './KeyIcon';
import { getClient } from '../session/client';
import { TrustShield } from './TrustShield';
import { AttachmentView } from './AttachmentView';

export interface MessageActions {
  reply(m: MessageView): void;
  edit(m: MessageView): void;
  remove(m: MessageView): void;
  react(m: MessageView, key: string): void;
}

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮'];

const time = (ts: number) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function MessageItem({ message: m, repliedTo, actions }: { message: MessageView; repliedTo?: MessageView; actions: MessageActions }) {
  const [picking, setPicking] = useState(false);
  const client = getClient();
  const canAct = !m.deleted && !m.pending && m.id.startsWith('$');
  const reply = m.replyTo && {
    senderName: repliedTo?.senderName ?? m.replyTo.senderName,
    body: repliedTo ? (repliedTo.deleted ? 'a deleted message' : repliedTo.undecryptable ? 'an encrypted message' : repliedTo.body) : m.replyTo.body,
  };
  return (
    <li class={`message ${m.isMine ? 'mine' : ''} ${m.pending ? 'pending' : ''}`} data-event-id={m.id} aria-label={`${m.senderName}, ${time(m.ts)}`}>
      <div class="meta">
        <span class="sender">{m.senderName}</span>
        {client && <TrustShield client={client} userId={m.sender} name={m.senderName} />} <time dateTime={new Date(m.ts).toISOString()}>{time(m.ts)}</time>
        {m.edited && <span class="edited"> (edited)</span>}
        {m.failed && <span class="failed"> · not sent</span>}
        {m.pending && !m.failed && <span class="sending"> · sending…</span>}
      </div>
      {reply && (
        <blockquote class="reply-quote">
          <span class="sender">{reply.senderName || 'Someone'}</span>: {reply.body}
        </blockquote>
      )}
      {m.deleted ? (
        <p class="body deleted">Message deleted</p>
      ) : m.undecryptable ? (
        <p class="body undecryptable" role="note">
          <KeyIcon />
          {m.undecryptable}
        </p>
      ) : m.attachment ? (
        <AttachmentView a={m.attachment} />
      ) : (
        <p class="body">{m.body}</p>
      )}
      {m.reactions.length > 0 && (
        <ul class="reactions" aria-label="Reactions">
          {m.reactions.map((r) => (
            <li key={r.key}>
              <button
                type="button"
                class={`reaction ${r.mine ? 'mine' : ''}`}
                aria-pressed={r.mine !== undefined}
                aria-label={`${r.key} ${r.count}: ${r.senders.join(', ')}`}
                title={r.senders.join(', ')}
                disabled={!canAct}
                onClick={() => actions.react(m, r.key)}
              >
                {r.key} {r.count}
              </button>
            </li>
          ))}
        </ul>
      )}
      {canAct && (
        <div class="actions" role="group" aria-label="Message actions">
          <button type="button" onClick={() => actions.reply(m)}>
            Reply
          </button>
          <button type="button" aria-expanded={picking} onClick={() => setPicking(!picking)}>
            React
          </button>
          {m.isMine && !m.undecryptable && !m.attachment && (
            <button type="button" onClick={() => actions.edit(m)}>
              Edit
            </button>
          )}
          {m.isMine && (
            <button type="button" onClick={() => actions.remove(m)}>
              Delete
            </button>
          )}
          {picking && (
            <span class="picker" role="group" aria-label="Pick a reaction">
              {QUICK_REACTIONS.map((key) => (
                <button
                  key={key}
                  type="button"
                  aria-label={`React with ${key}`}
                  onClick={() => {
                    setPicking(false);
                    actions.react(m, key);
                  }}
                >
                  {key}
                </button>
              ))}
            </span>
          )}
        </div>
      )}
      {m.readBy.length > 0 && <p class="read-by">Seen by {m.readBy.join(', ')}</p>}
    </li>
  );
}
