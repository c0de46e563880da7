/**
 * Jest globalSetup (plain ESM: jest loads it outside its TypeScript transform): prints once, at the start of the run,
 * whether the official Matrix spec is there to check responses against (test/support/spec-notice.ts), and stops the
 * run when MATRIX_SPEC_DIR names a folder without one.
 */
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { officialSpecNotice } = await tsImport('./spec-notice.ts', import.meta.url);
  const { ok, message } = officialSpecNotice();
  if (!ok) throw new Error(message);
  process.stderr.write(`\n${message}\n\n`);
}
