/**
 * Rate limits, per requester (a user, or a client address before login), in this process's memory: each named
 * limit allows so many points per window. RATE_LIMITS=off turns every limit off. A refused request becomes 429
 * M_LIMIT_EXCEEDED with retry_after_ms and Retry-After; a request that costs more than a whole window takes the
 * whole window (so it can still pass once the window is fresh).
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { limitExceeded } from '../errors.js';

/** The per-requester limits, with the config setting that sizes each. */
const LIMITS = {
  login: { setting: 'loginRatePerMinute', seconds: 60 },
  /** Registration attempts: a POST /register carrying an auth stage, a guest registration, a token-validity check. */
  register: { setting: 'registerRatePerMinute', seconds: 60 },
  /** The steps before an attempt (Element asks for the flows twice and checks the name as it is typed). */
  register_check: { setting: 'registerCheckRatePerMinute', seconds: 60 },
  room_send: { setting: 'roomSendRatePerMinute', seconds: 60 },
  room_create: { setting: 'roomCreateRatePerMinute', seconds: 60 },
  invite: { setting: 'inviteRatePerMinute', seconds: 60 },
  to_device: { setting: 'toDeviceRatePerMinute', seconds: 60 },
  key_claim: { setting: 'keyClaimRatePerMinute', seconds: 60 },
  /** One-time keys one user takes from one device; beyond it the device's fallback key is handed out (keys.ts). */
  one_time_key_per_claimer: { setting: 'oneTimeKeysPerClaimerPerHour', seconds: 3600 },
  /** One-time keys all users together take from one device; beyond it, its fallback key. */
  one_time_key_per_device: { setting: 'oneTimeKeysPerDevicePerHour', seconds: 3600 },
  directory_search: { setting: 'directorySearchRatePerMinute', seconds: 60 },
  /** Ready for the media API (not served yet): uploads per user. */
  media_upload: { setting: 'mediaUploadRatePerMinute', seconds: 60 },
  /** URL previews per user (MEDIA_URL_PREVIEW=on): each may make the server fetch a page and an image. */
  url_preview: { setting: 'mediaUrlPreviewRatePerMinute', seconds: 60 },
} as const satisfies Record<string, { setting: keyof Config; seconds: number }>;

export type LimitName = keyof typeof LIMITS;
export type RateLimitSettings = Pick<Config, 'rateLimits' | (typeof LIMITS)[LimitName]['setting']>;

export interface RateLimits {
  /** Counts one request under each key; throws M_LIMIT_EXCEEDED when any key is over its limit. */
  consume(name: LimitName, ...keys: string[]): Promise<void>;
  /** Counts `cost` points under `key`; throws M_LIMIT_EXCEEDED when over. */
  charge(name: LimitName, key: string, cost: number): Promise<void>;
  /** Takes one point under `key` when the limit allows it: false (nothing thrown) when over. */
  allows(name: LimitName, key: string): Promise<boolean>;
}

export function createRateLimits(config: RateLimitSettings): RateLimits {
  if (!config.rateLimits) return { consume: async () => {}, charge: async () => {}, allows: async () => true };
  const limiters = new Map<LimitName, { limiter: RateLimiterMemory; points: number }>();
  for (const [name, { setting, seconds }] of Object.entries(LIMITS) as [LimitName, (typeof LIMITS)[LimitName]][]) {
    const points = config[setting];
    limiters.set(name, { limiter: new RateLimiterMemory({ keyPrefix: name, points, duration: seconds }), points });
  }
  async function take(name: LimitName, key: string, cost: number): Promise<RateLimiterRes | undefined> {
    const { limiter, points } = limiters.get(name)!;
    try {
      await limiter.consume(key, Math.max(1, Math.min(cost, points)));
      return undefined;
    } catch (res) {
      if (res instanceof RateLimiterRes) return res;
      throw res;
    }
  }
  return {
    async consume(name, ...keys) {
      for (const key of keys) {
        const refused = await take(name, key, 1);
        if (refused) throw limitExceeded(refused.msBeforeNext);
      }
    },
    async charge(name, key, cost) {
      const refused = await take(name, key, cost);
      if (refused) throw limitExceeded(refused.msBeforeNext);
    },
    async allows(name, key) {
      return (await take(name, key, 1)) === undefined;
    },
  };
}
