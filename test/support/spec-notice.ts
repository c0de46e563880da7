/**
 * What the start of a test run says about the official Matrix spec (printed by test/support/global-setup.mjs): whether
 * responses are checked against it as well as against our openapi.yaml. Without it (a plain clone with no ../shared
 * beside it) the suite still runs every other assertion; an explicit MATRIX_SPEC_DIR that holds no spec is a mistake.
 */
import { officialSpecFound, specDir } from './spec.js';

export function officialSpecNotice(): { ok: boolean; message: string } {
  if (officialSpecFound()) return { ok: true, message: `Responses are checked against openapi.yaml and the official Matrix spec in ${specDir()}.` };
  if (process.env.MATRIX_SPEC_DIR) {
    return { ok: false, message: `MATRIX_SPEC_DIR is ${process.env.MATRIX_SPEC_DIR}, but there is no matrix-spec checkout there (no data/api/client-server). Unset it or point it at one.` };
  }
  const line = '!'.repeat(100);
  return {
    ok: true,
    message: [
      line,
      `!! The official Matrix spec was not found at ${specDir()}.`,
      '!! Responses are checked against openapi.yaml only; the official schema checks and the tests of the spec validator',
      '!! itself are SKIPPED. For the full run, put a matrix-spec checkout at ../shared/matrix-spec or set MATRIX_SPEC_DIR.',
      line,
    ].join('\n'),
  };
}
