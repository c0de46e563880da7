/** Tests run as native ESM (matrix-js-sdk is ESM-only); @swc/jest strips types, `tsc --noEmit` checks them. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // matrix-js-sdk 43 needs Promise.withResolvers, which Node 20 lacks: bots/node20.ts adds it.
  setupFiles: ['<rootDir>/bots/node20.ts'],
  // Says whether the official Matrix spec is there to check responses against (test/support/spec.ts).
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  testTimeout: 30000,
};
