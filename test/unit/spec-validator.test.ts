/**
 * The response validator (test/support/spec.ts): checks every body against our openapi.yaml, and against the official
 * Matrix schemas when they are found; finds operations by path or operationId, accepts bodies that match and rejects
 * ones that do not, with errors that say what is wrong. The official spec's own tests are skipped without it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from '@jest/globals';
import type { SchemaSet } from '../support/openapi-schemas.js';
import {
  expectMatrixError,
  expectValidResponse,
  expectValidResponseById,
  findOperation,
  findOperationById,
  officialSchemas,
  officialSpecFound,
  ourSchemas,
  readStringFormats,
  specDir,
  specOperations,
} from '../support/spec.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Tests of the official spec's lookups and schemas run only where it is found (see test/support/global-setup.mjs). */
const withOfficialSpec = officialSpecFound() ? describe : describe.skip;
/** The official spec alone (its validator's own tests), not combined with openapi.yaml. */
function official(): SchemaSet {
  const spec = officialSchemas();
  if (!spec) throw new Error('the official Matrix spec is not loaded');
  return spec;
}

describe('openapi.yaml is always checked', () => {
  test('a body openapi.yaml rejects fails, with or without the official spec', () => {
    expect(() => ourSchemas().checkById('getTokenOwner', 200, { device_id: 'ABC', is_guest: false })).toThrow(/does not match openapi\.yaml[\s\S]*required property 'user_id'/);
    expect(() => expectValidResponseById('getTokenOwner', 200, { device_id: 'ABC', is_guest: false })).toThrow(/required property 'user_id'/);
    expect(() => expectValidResponse('GET', '/_matrix/client/v3/account/whoami', 200, { user_id: '@a:b', device_id: 'D', is_guest: 'no' })).toThrow(/is_guest must be boolean/);
    expect(() => expectValidResponseById('getTokenOwner', 200, { user_id: '@a:b', device_id: 'D', is_guest: false })).not.toThrow();
  });

  test('operations and statuses openapi.yaml does not document are errors; short paths resolve', () => {
    expect(() => ourSchemas().checkById('getTokenOwner', 418, {})).toThrow(/openapi\.yaml documents no 418 response for GET \/_matrix\/client\/v3\/account\/whoami/);
    expect(() => ourSchemas().findById('noSuchOperation')).toThrow(/openapi\.yaml has no operation with operationId noSuchOperation/);
    expect(ourSchemas().find('GET', '/account/whoami').operationId).toBe('getTokenOwner');
    expect(ourSchemas().find('DELETE', '/_matrix/client/v3/devices/:id').operationId).toBe('deleteDevice');
    expect(() => ourSchemas().find('DELETE', '/devices/:id')).toThrow(/ambiguous[\s\S]*deleteDevice[\s\S]*adminDeleteUserDevice/);
  });

  test('error bodies are checked against openapi.yaml\'s Error schema', () => {
    expect(() => expectMatrixError({ errcode: 'M_FORBIDDEN', error: 7 })).toThrow(/body\.error must be string  \[openapi\.yaml\]/);
  });

  test('the official spec is used exactly when its data is found', () => {
    expect(officialSchemas() !== null).toBe(existsSync(path.join(specDir(), 'data', 'api', 'client-server')));
  });

  test('without the official spec: openapi.yaml alone, the official lookups say what is missing, the run is told', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'no-matrix-spec-'));
    try {
      const script = `
        const spec = await import('./test/support/spec.ts');
        const setup = await import('./test/support/spec-notice.ts');
        const outcome = (f) => { try { f(); return 'ok'; } catch (e) { return e.message; } };
        console.log(JSON.stringify({
          official: spec.officialSchemas(),
          badUserIdFormat: outcome(() => spec.expectValidResponseById('getTokenOwner', 200, { user_id: 'alice', device_id: 'D', is_guest: false })),
          missingUserId: outcome(() => spec.expectValidResponseById('getTokenOwner', 200, { device_id: 'D', is_guest: false })),
          error: outcome(() => spec.expectMatrixError({ errcode: 'M_FORBIDDEN', error: 'no' }, 'M_FORBIDDEN')),
          lookup: outcome(() => spec.findOperationById('getTokenOwner')),
          notice: setup.officialSpecNotice(),
        }));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        env: { ...process.env, MATRIX_SPEC_DIR: empty },
      });
      const result = JSON.parse(stdout) as Record<string, unknown>;
      expect(result.official).toBeNull();
      expect(result.badUserIdFormat).toBe('ok'); // only the official schema knows the mx-user-id format
      expect(result.missingUserId).toMatch(/does not match openapi\.yaml[\s\S]*required property 'user_id'/);
      expect(result.error).toBe('ok');
      expect(result.lookup).toMatch(/Matrix spec not found at .*no-matrix-spec-/);
      // An explicit MATRIX_SPEC_DIR without a spec is a mistake: global setup stops the run and says why.
      expect(result.notice).toEqual({ ok: false, message: expect.stringMatching(/MATRIX_SPEC_DIR is .*no matrix-spec checkout there/) });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

withOfficialSpec('the official spec, when found', () => {
  test('is active: a body openapi.yaml accepts but the spec rejects fails', () => {
    const body = { user_id: 'alice', device_id: 'ABC', is_guest: false };
    expect(() => ourSchemas().checkById('getTokenOwner', 200, body)).not.toThrow();
    expect(() => expectValidResponseById('getTokenOwner', 200, body)).toThrow(/does not match the Matrix spec[\s\S]*mx-user-id/);
  });
});

withOfficialSpec('spec lookup', () => {
  test('full paths, short forms and Koa-style parameters name the same operation', () => {
    const full = findOperation('GET', '/_matrix/client/v3/devices/{deviceId}');
    expect(full).toMatchObject({ operationId: 'getDevice', fullPath: '/_matrix/client/v3/devices/{deviceId}', specPath: '/devices/{deviceId}' });
    expect(findOperation('get', '/devices/{deviceId}')).toEqual(full);
    expect(findOperation('GET', '/_matrix/client/v3/devices/:id')).toEqual(full);
    expect(findOperationById('getDevice')).toEqual(full);
  });

  test('servers basePath gives the prefix: v1, unversioned and .well-known endpoints', () => {
    expect(findOperationById('registrationTokenValidity').fullPath).toBe('/_matrix/client/v1/register/m.login.registration_token/validity');
    expect(findOperationById('getVersions').fullPath).toBe('/_matrix/client/versions');
    expect(findOperationById('getWellknown').fullPath).toBe('/.well-known/matrix/client');
  });

  test('trailing slashes: exact when the spec has them, tolerant otherwise', () => {
    expect(findOperation('GET', '/_matrix/client/v3/pushrules/').operationId).toBe('getPushRules');
    expect(findOperation('GET', '/_matrix/client/v3/pushrules').operationId).toBe('getPushRules');
    expect(findOperation('GET', '/_matrix/client/v3/pushrules/global/').operationId).toBe('getPushRulesGlobal');
  });

  test('unknown operations, methods and statuses are errors', () => {
    expect(() => findOperation('GET', '/_matrix/client/v3/nothing-here')).toThrow(/no operation GET/);
    expect(() => findOperation('DELETE', '/_matrix/client/versions')).toThrow(/GET \/_matrix\/client\/versions \(getVersions\)/);
    expect(() => findOperationById('noSuchOperation')).toThrow(/no operation with operationId noSuchOperation/);
    expect(() => expectValidResponse('GET', '/_matrix/client/versions', 418, {})).toThrow(/no 418 response .* documented: 200/);
  });

  test('the spec folder is found beside the repository and every client-server file is indexed', () => {
    expect(specDir()).toBe(process.env.MATRIX_SPEC_DIR ? path.resolve(process.env.MATRIX_SPEC_DIR) : path.resolve(REPO_ROOT, '..', 'shared', 'matrix-spec'));
    const ids = specOperations().map((o) => o.operationId);
    expect(ids).toEqual(expect.arrayContaining(['register', 'login', 'getPushRule', 'setProfileField', 'deleteDevices', 'defineFilter']));
  });
});

withOfficialSpec('response validation', () => {
  test('versions: a valid body passes, a body without versions fails with a readable error', () => {
    expect(() => official().check('GET', '/_matrix/client/versions', 200, { versions: ['v1.1'], unstable_features: { 'org.example': true } })).not.toThrow();
    expect(() => official().check('GET', '/_matrix/client/versions', 200, { unstable_features: {} })).toThrow(/getVersions[\s\S]*must have required property 'versions'/);
    expect(() => official().check('GET', '/versions', 200, { versions: 'v1.1' })).toThrow(/body\.versions must be array/);
  });

  test('whoami: user_id is required and must be a user id (mx-user-id format)', () => {
    expect(() => official().check('GET', '/account/whoami', 200, { user_id: '@alice:example.org', device_id: 'ABC', is_guest: false })).not.toThrow();
    expect(() => official().check('GET', '/account/whoami', 200, { device_id: 'ABC' })).toThrow(/must have required property 'user_id'/);
    expect(() => official().check('GET', '/account/whoami', 200, { user_id: 'alice' })).toThrow(/body\.user_id must match format "mx-user-id"/);
    expect(() => official().checkById('getTokenOwner', 200, { user_id: '@alice:example.org', is_guest: 'no' })).toThrow(/body\.is_guest must be boolean/);
  });

  test('error responses use the shared error schemas, across files ($ref to definitions/errors)', () => {
    expect(() => official().checkById('getTokenOwner', 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' })).not.toThrow();
    expect(() => official().checkById('getTokenOwner', 401, { error: 'no errcode' })).toThrow(/required property 'errcode'/);
    expect(() => official().checkById('getTokenOwner', 429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 2000 })).not.toThrow();
    expect(() => official().checkById('getTokenOwner', 429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 'soon' })).toThrow(/retry_after_ms must be integer/);
  });

  test('deep references resolve: well-known, capabilities ($ref inside the same file) and push rules', () => {
    expect(() => official().checkById('getWellknown', 200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } })).not.toThrow();
    expect(() => official().checkById('getWellknown', 200, { 'm.homeserver': {} })).toThrow(/base_url/);
    const capabilities = { capabilities: { 'm.change_password': { enabled: true }, 'm.room_versions': { default: '10', available: { '10': 'stable' } } } };
    expect(() => official().checkById('getCapabilities', 200, capabilities)).not.toThrow();
    expect(() => official().checkById('getCapabilities', 200, { capabilities: { 'm.change_password': { enabled: 'yes' } } })).toThrow(/enabled must be boolean/);
    const rule = { rule_id: '.m.rule.master', default: true, enabled: false, actions: [] };
    expect(() => official().checkById('getPushRule', 200, rule)).not.toThrow();
    expect(() => official().checkById('getPushRule', 200, { ...rule, enabled: undefined })).toThrow(/required property 'enabled'/);
  });

  test('a status documented without a body accepts any body', () => {
    expect(() => official().check('GET', '/.well-known/matrix/client', 404, { errcode: 'M_NOT_FOUND', error: 'none' })).not.toThrow();
  });
});

withOfficialSpec('string formats', () => {
  test('regexes come from string-formats.yaml; formats without one accept any string', () => {
    const formats = readStringFormats(path.join(specDir(), 'data', 'string-formats.yaml'));
    expect(formats.get('mx-user-id')?.test('@a:b')).toBe(true);
    expect(formats.get('mx-room-id')?.test('@a:b')).toBe(false);
    expect(formats.get('mx-mxc-uri')?.test('mxc://example.org/abc')).toBe(true);
    expect(formats.has('mx-server-name')).toBe(true);
    expect(formats.get('mx-server-name')).toBeUndefined();
  });
});

describe('generic Matrix errors', () => {
  test('expectMatrixError wants {errcode, error} and, when given, the errcode', () => {
    expect(() => expectMatrixError({ errcode: 'M_MISSING_TOKEN', error: 'Missing access token.' }, 'M_MISSING_TOKEN')).not.toThrow();
    expect(() => expectMatrixError({ errcode: 'M_MISSING_TOKEN' })).toThrow(/string 'error'/);
    expect(() => expectMatrixError({ error: 'x' })).toThrow(/required property 'errcode'/);
    expect(() => expectMatrixError({ errcode: 'M_FORBIDDEN', error: 'x' }, 'M_MISSING_TOKEN')).toThrow(/expected M_MISSING_TOKEN/);
  });
});
