/**
 * Rate limits for login and registration, per client address and per account, in this process's memory.
 * RATE_LIMITS=off turns every limit off. A refused attempt becomes 429 M_LIMIT_EXCEEDED with retry_after_ms.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { limitExceeded } from '../errors.js';

export type LimitName = 'login' | 'register';

export interface RateLimits {
  /** Counts one attempt under each key; throws M_LIMIT_EXCEEDED when any key is over its limit. */
  consume(name: LimitName, ...keys: string[]): Promise<void>;
}

export function createRateLimits(config: Pick<Config, 'rateLimits' | 'loginRatePerMinute' | 'registerRatePerMinute'>): RateLimits {
  if (!config.rateLimits) return { consume: async () => {} };
  const limiters: Record<LimitName, RateLimiterMemory> = {
    login: new RateLimiterMemory({ keyPrefix: 'login', points: config.loginRatePerMinute, duration: 60 }),
    register: new RateLimiterMemory({ keyPrefix: 'register', points: config.registerRatePerMinute, duration: 60 }),
  };
  return {
    async consume(name, ...keys) {
      for (const key of keys) {
        try {
          await limiters[name].consume(key);
        } catch (res) {
          if (res instanceof RateLimiterRes) throw limitExceeded(res.msBeforeNext);
          throw res;
        }
      }
    },
  };
}
