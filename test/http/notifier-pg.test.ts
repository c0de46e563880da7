import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createNotifier, roomKey } from '../../src/relay/notifier.js';
import { createPgBus } from '../../src/relay/bus/pg-bus.js';
import { connectPostgres, type Database } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let database: TestDatabase;
let second: Database;
beforeAll(async () => {
  database = await createTestDatabase();
  second = connectPostgres(database.url, 2);
});
afterAll(async () => {
  await second.close();
  await database.drop();
});

test('a wake in one process reaches a listener in another through LISTEN/NOTIFY', async () => {
  const here = await createNotifier(createPgBus(database.db.sql));
  const there = await createNotifier(createPgBus(second.sql));
  const listener = there.listen([roomKey('!room:x')]);
  const waiting = listener.wait(10_000);
  here.wake([roomKey('!room:x')]);
  await expect(waiting).resolves.toBe(true);
  listener.close();
  await here.close();
  await there.close();
});
