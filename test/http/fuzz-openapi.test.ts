/**
 * Property-based fuzzing of every operation in openapi.yaml on PostgreSQL (test/support/fuzz-run.ts: never a 5xx,
 * never a hang, a refused request changes nothing).
 * `npm test` runs FUZZ_RUNS (default 5) cases per operation with a fixed seed; `npm run fuzz -- --runs N` runs more;
 * FUZZ_DEBUG=1 prints every case. The summary line gives the cases run per operation and the statuses they got.
 */
import { startTestServer } from '../support/server.js';
import { fuzzEveryOperation } from '../support/fuzz-run.js';

fuzzEveryOperation('PostgreSQL', () => startTestServer(), Number(process.env.FUZZ_RUNS ?? 5));
