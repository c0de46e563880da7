/**
 * The spec validator (test/support/spec.ts): finds operations by path or operationId, accepts bodies that match the
 * official Matrix schemas and rejects ones that do not, with errors that say what is wrong.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import {
  expectMatrixError,
  expectValidResponse,
  expectValidResponseById,
  findOperation,
  findOperationById,
  readStringFormats,
  specDir,
  specOperations,
} from '../support/spec.js';

describe('spec lookup', () => {
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
    const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    expect(specDir()).toBe(process.env.MATRIX_SPEC_DIR ? path.resolve(process.env.MATRIX_SPEC_DIR) : path.resolve(repoRoot, '..', 'shared', 'matrix-spec'));
    const ids = specOperations().map((o) => o.operationId);
    expect(ids).toEqual(expect.arrayContaining(['register', 'login', 'getPushRule', 'setProfileField', 'deleteDevices', 'defineFilter']));
  });
});

describe('response validation', () => {
  test('versions: a valid body passes, a body without versions fails with a readable error', () => {
    expect(() => expectValidResponse('GET', '/_matrix/client/versions', 200, { versions: ['v1.1'], unstable_features: { 'org.example': true } })).not.toThrow();
    expect(() => expectValidResponse('GET', '/_matrix/client/versions', 200, { unstable_features: {} })).toThrow(/getVersions[\s\S]*must have required property 'versions'/);
    expect(() => expectValidResponse('GET', '/versions', 200, { versions: 'v1.1' })).toThrow(/body\.versions must be array/);
  });

  test('whoami: user_id is required and must be a user id (mx-user-id format)', () => {
    expect(() => expectValidResponse('GET', '/account/whoami', 200, { user_id: '@alice:example.org', device_id: 'ABC', is_guest: false })).not.toThrow();
    expect(() => expectValidResponse('GET', '/account/whoami', 200, { device_id: 'ABC' })).toThrow(/must have required property 'user_id'/);
    expect(() => expectValidResponse('GET', '/account/whoami', 200, { user_id: 'alice' })).toThrow(/body\.user_id must match format "mx-user-id"/);
    expect(() => expectValidResponseById('getTokenOwner', 200, { user_id: '@alice:example.org', is_guest: 'no' })).toThrow(/body\.is_guest must be boolean/);
  });

  test('error responses use the shared error schemas, across files ($ref to definitions/errors)', () => {
    expect(() => expectValidResponseById('getTokenOwner', 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token' })).not.toThrow();
    expect(() => expectValidResponseById('getTokenOwner', 401, { error: 'no errcode' })).toThrow(/required property 'errcode'/);
    expect(() => expectValidResponseById('getTokenOwner', 429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 2000 })).not.toThrow();
    expect(() => expectValidResponseById('getTokenOwner', 429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 'soon' })).toThrow(/retry_after_ms must be integer/);
  });

  test('deep references resolve: well-known, capabilities ($ref inside the same file) and push rules', () => {
    expect(() => expectValidResponseById('getWellknown', 200, { 'm.homeserver': { base_url: 'https://matrix.example.org' } })).not.toThrow();
    expect(() => expectValidResponseById('getWellknown', 200, { 'm.homeserver': {} })).toThrow(/base_url/);
    const capabilities = { capabilities: { 'm.change_password': { enabled: true }, 'm.room_versions': { default: '10', available: { '10': 'stable' } } } };
    expect(() => expectValidResponseById('getCapabilities', 200, capabilities)).not.toThrow();
    expect(() => expectValidResponseById('getCapabilities', 200, { capabilities: { 'm.change_password': { enabled: 'yes' } } })).toThrow(/enabled must be boolean/);
    const rule = { rule_id: '.m.rule.master', default: true, enabled: false, actions: [] };
    expect(() => expectValidResponseById('getPushRule', 200, rule)).not.toThrow();
    expect(() => expectValidResponseById('getPushRule', 200, { ...rule, enabled: undefined })).toThrow(/required property 'enabled'/);
  });

  test('a status documented without a body accepts any body', () => {
    expect(() => expectValidResponse('GET', '/.well-known/matrix/client', 404, { errcode: 'M_NOT_FOUND', error: 'none' })).not.toThrow();
  });
});

describe('string formats', () => {
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
