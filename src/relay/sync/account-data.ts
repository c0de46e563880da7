/**
 * The account_data section of /sync: the user's global account data changed in range, and m.push_rules when the
 * user's push rules changed (always on an initial sync). Room account data is part of each room (rooms.ts).
 */
import type { Hs } from '../../hs.js';
import type { AccountDataSnapshot } from '../../db/sync-snapshot.js';
import { getPushRuleset } from '../push-rules/rules.js';
import { matchesEventFilter } from './event-filter.js';
import type { SyncSection } from './section.js';

type AccountDataEvent = { type: string; content: Record<string, unknown> };

/**
 * The global account data events for (since, head]: the rows changed in range, and m.push_rules when the push rules
 * changed in range (always when since is undefined). Shared with the sliding-sync account_data extension.
 */
export async function globalAccountDataEvents(hs: Hs, userId: string, since: number | undefined, head: number, data: AccountDataSnapshot): Promise<AccountDataEvent[]> {
  const { changed, pushRulesPos } = data;
  const events = changed.filter((r) => r.roomId === '').map((r) => ({ type: r.type, content: r.content }));
  if (since === undefined || (pushRulesPos !== undefined && pushRulesPos > since && pushRulesPos <= head)) {
    events.push({ type: 'm.push_rules', content: { global: await getPushRuleset(hs, userId) } });
  }
  return events;
}

export interface AccountDataPart {
  account_data: { events: AccountDataEvent[] };
}

export const accountDataSection: SyncSection<AccountDataPart> = {
  async build({ hs, requester, since, filter, snapshot }) {
    const events = await globalAccountDataEvents(hs, requester.userId, since, snapshot.head, snapshot.accountData);
    return { account_data: { events: events.filter((e) => matchesEventFilter(filter.account_data, { type: e.type, sender: requester.userId })) } };
  },
  isEmpty: (part) => part.account_data.events.length === 0,
};
