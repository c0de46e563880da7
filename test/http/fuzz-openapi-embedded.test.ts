/**
 * The OpenAPI fuzz run (test/support/fuzz-run.ts) on the embedded database (PGlite, a pool of one), so that every
 * class the fuzz suite checks (no 5xx, no hang, a refused request changes nothing) is checked on both databases.
 * Fewer cases than on PostgreSQL (FUZZ_EMBEDDED_RUNS, default 2 per operation): PGlite is slower, and the requests
 * are the same; `npm run fuzz -- --runs N` runs N on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { startServerOn } from '../support/server.js';
import { fuzzEveryOperation } from '../support/fuzz-run.js';

fuzzEveryOperation(
  'embedded',
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securecomm-fuzz-'));
    const db = await openEmbedded(dataDir);
    await migrate(db);
    const server = await startServerOn(db);
    return {
      ...server,
      async close() {
        try {
          await server.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  },
  Number(process.env.FUZZ_EMBEDDED_RUNS ?? process.env.FUZZ_RUNS ?? 2),
);
