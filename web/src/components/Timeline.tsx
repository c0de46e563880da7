/** The room's messages, newest at the bottom, kept scrolled to the bottom while the reader is there. */
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { MessageView, TimelineItem } from '../chat/timeline-model';
import { MessageItem, type MessageActions } from './MessageItem';

interface Props {
  items: TimelineItem[];
  onAction: MessageActions;
  /** Present when older messages can be loaded from the server. */
  older?: { loading: boolean; load(): void };
}

export function Timeline({ items, onAction, older }: Props) {
  const list = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = list.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [items]);
  const byId = new Map(items.filter((i): i is MessageView => i.kind === 'message').map((m) => [m.id, m]));
  return (
    <div
      class="timeline"
      ref={list}
      role="log"
      aria-label="Messages"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        // Scrolled to the top: load older messages.
        if (el.scrollTop < 40 && older && !older.loading) older.load();
      }}
    >
      {older && (
        <p class="older">
          <button type="button" class="link-button" disabled={older.loading} onClick={older.load}>
            {older.loading ? 'Loading older messages…' : 'Show older messages'}
          </button>
        </p>
      )}
      <ol class="timeline-items">
      {items.length === 0 && !older && <li class="notice">No messages yet. Say hello: everything you write is encrypted before it leaves this browser.</li>}
      {items.map((item) =>
        item.kind === 'notice' ? (
          <li key={item.id} class="notice">
            {item.text}
          </li>
        ) : (
          <MessageItem key={item.id} message={item} repliedTo={item.replyTo ? byId.get(item.replyTo.id) : undefined} actions={onAction} />
        ),
      )}
      </ol>
    </div>
  );
}
