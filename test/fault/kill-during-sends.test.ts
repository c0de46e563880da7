/**
 * A server process killed with SIGKILL in the middle of a burst of sends, then started again on the same database:
 * each txnId retried returns the event id of its first success, nothing is stored twice, and nothing that was
 * answered 200 is missing. On PostgreSQL, and on the embedded database, whose killed process leaves its pid lock
 * behind (the new process takes it over).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { killAll, spawnServer, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { createRoom, encryptedEventIds, register, send, type Reply } from '../support/client.js';

const LISTENING = /SecureComm listening on/;
const SENDS = 60;
const WORKERS = 6;
/** Successes before the kill: the other workers then have sends in flight. */
const KILL_AFTER = 15;

afterEach(() => killAll());

async function start(env: Record<string, string>): Promise<{ proc: ServerProcess; base: string }> {
  const port = await freePort();
  const proc = spawnServer({ PORT: String(port), ...env });
  await proc.waitForLine(LISTENING, 120_000);
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** The scenario on a server started with `env`; returns the process started second (still running). */
async function killDuringBurst(env: Record<string, string>): Promise<{ restarted: ServerProcess; killedPid: number }> {
  const first = await start(env);
  const alice = await register(first.base, 'alice');
  const roomId = await createRoom(first.base, alice);

  const txnIds = Array.from({ length: SENDS }, (_, i) => `burst-${i}`);
  const pending = [...txnIds];
  const firstReplies = new Map<string, Reply>();
  let ok = 0;
  let killed = false;
  const worker = async () => {
    while (pending.length > 0 && !killed) {
      const txnId = pending.shift()!;
      const reply = await send(first.base, alice, roomId, txnId, 20_000);
      firstReplies.set(txnId, reply);
      if (reply.status === 200 && ++ok === KILL_AFTER && !killed) {
        killed = true;
        first.proc.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  expect(killed).toBe(true);
  expect(await first.proc.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
  // Before the kill every send succeeded; after it, none got an answer (none was refused or failed otherwise).
  for (const reply of firstReplies.values()) expect(reply.status === 200 || reply.status === 0).toBe(true);
  const answered = [...firstReplies].filter(([, reply]) => reply.status === 200);
  expect(answered.length).toBeGreaterThanOrEqual(KILL_AFTER);

  const second = await start(env);
  // Every txnId again, the answered ones first: each comes back with the event id of its first success.
  const retried = new Map<string, string>();
  for (const txnId of txnIds) {
    const reply = await send(second.base, alice, roomId, txnId);
    expect([txnId, reply.status]).toEqual([txnId, 200]);
    retried.set(txnId, reply.body.event_id);
  }
  for (const [txnId, reply] of answered) expect(retried.get(txnId)).toBe(reply.body.event_id);

  // Stored once each, and nothing else.
  const stored = await encryptedEventIds(second.base, alice, roomId);
  expect(stored).toHaveLength(SENDS);
  expect(new Set(stored)).toEqual(new Set(retried.values()));
  return { restarted: second.proc, killedPid: first.proc.child.pid! };
}

describe('SIGKILL during a burst of sends', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  test('on PostgreSQL: retried txnIds return their first event ids, nothing twice, nothing lost', async () => {
    const { restarted } = await killDuringBurst({ DATABASE_URL: database.url });
    expect(await restarted.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 240_000);

  test('on the embedded database: the same, and the killed process leaves a pid lock the next one takes over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securecomm-fault-'));
    try {
      const { restarted, killedPid } = await killDuringBurst({ DATA_DIR: dataDir });
      expect(readFileSync(join(dataDir, 'securecomm.pid'), 'utf8').trim()).toBe(String(restarted.child.pid));
      expect(restarted.child.pid).not.toBe(killedPid);
      expect(await restarted.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
