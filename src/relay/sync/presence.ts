/** The presence section of /sync: this server does not track presence, so it is always empty (and never wakes a sync). */
import type { SyncSection } from './section.js';

export interface PresencePart {
  presence: { events: never[] };
}

export const presenceSection: SyncSection<PresencePart> = {
  build: async () => ({ presence: { events: [] } }),
  isEmpty: () => true,
};
