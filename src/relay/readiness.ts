/**
 * Readiness for load balancers and orchestrators (GET /ready): the database answers, every migration this build knows
 * is applied (and none it does not know: a newer release migrated the schema), and the cross-process wake channel
 * carries a probe back to this process. Each check is bounded, so a probe never hangs on a database that is away.
 */
import { appliedMigrations, knownMigrations } from '../db/migrate.js';
import type { Hs } from '../hs.js';

export type CheckResult = 'ok' | 'failed';

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; migrations: CheckResult; bus: CheckResult };
}

/** How long each check may take before it counts as failed. */
export const READINESS_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

export async function checkReadiness(hs: Pick<Hs, 'sql' | 'notifier'>, timeoutMs = READINESS_TIMEOUT_MS): Promise<Readiness> {
  const [applied, bus] = await Promise.all([within(appliedMigrations(hs.sql), timeoutMs), hs.notifier.probe(timeoutMs)]);
  const known = knownMigrations();
  const migrated = applied !== undefined && applied.length === known.length && known.every((m) => applied.includes(m));
  const checks = { database: applied !== undefined ? 'ok' : 'failed', migrations: migrated ? 'ok' : 'failed', bus: bus ? 'ok' : 'failed' } as const;
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
