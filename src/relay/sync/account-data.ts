/**
 * The account_data section of /sync: the user's global account data changed in range, and m.push_rules when the
 * user's push rules changed (always on an initial sync). Room account data is part of each room (rooms.ts).
 */
import { getPushRuleset } from '../push-rules/rules.js';
import { matchesEventFilter } from './event-filter.js';
import type { SyncSection } from './section.js';

export interface AccountDataPart {
  account_data: { events: { type: string; content: Record<string, unknown> }[] };
}

export const accountDataSection: SyncSection<AccountDataPart> = {
  async build({ hs, requester, since, filter, snapshot }) {
    const { changed, pushRulesPos } = snapshot.accountData;
    const events = changed.map((r) => ({ type: r.type, content: r.content }));
    if (since === undefined || (pushRulesPos !== undefined && pushRulesPos > since && pushRulesPos <= snapshot.head)) {
      events.push({ type: 'm.push_rules', content: { global: await getPushRuleset(hs, requester.userId) } });
    }
    return { account_data: { events: events.filter((e) => matchesEventFilter(filter.account_data, { type: e.type, sender: requester.userId })) } };
  },
  isEmpty: (part) => part.account_data.events.length === 0,
};
