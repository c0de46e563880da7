#!/usr/bin/env node
/**
 * `npm run fuzz -- --runs N [--seed S]`: the OpenAPI fuzz suite (test/http/fuzz-openapi*.test.ts, on PostgreSQL and
 * on the embedded database) with N cases per
 * operation instead of the few `npm test` runs. A random seed unless one is given; the seed is printed to replay a run.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- --runs N [--seed S]');
  process.exit(2);
}
console.log(`fuzz: ${runs} cases per operation, seed ${seed}`);
const jest = ['--experimental-vm-modules', '--no-warnings', 'node_modules/jest/bin/jest.js', '--runInBand', 'test/http/fuzz-openapi.test.ts', 'test/http/fuzz-openapi-embedded.test.ts'];
const result = spawnSync(process.execPath, jest, { stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: String(seed) } });
process.exit(result.status ?? 1);
