/**
 * Configuration: loadConfig's defaults, environment values, the SECURECOMM_CONFIG YAML file and its precedence,
 * and the clear errors for bad input; helpText lists every setting. Pure: no database, no process.env.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS, helpText, isConfigError, isLoopback, loadConfig } from '../../src/config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'securecomm-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes a YAML config file in this file's temporary folder and returns its path. */
function yamlFile(content: string): string {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, content);
  return path;
}

/** The error loadConfig throws for this input; fails the test if it does not throw a ConfigError. */
function configError(env: Record<string, string | undefined>): Error {
  try {
    loadConfig(env);
  } catch (err) {
    expect(isConfigError(err)).toBe(true);
    return err as Error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8008,
      serverName: 'localhost',
      publicBaseUrl: 'http://127.0.0.1:8008',
      databaseUrl: undefined,
      busUrl: undefined,
      busPrefix: 'securecomm',
      databasePoolSize: Math.max(4, 2 * availableParallelism()),
      databasePoolTimeoutMs: 10_000,
      // On under the test runner (jest sets NODE_ENV=test), off in production.
      databaseTxGuard: process.env.NODE_ENV === 'test',
      dataDir: './data',
      registration: 'open',
      allowGuests: true,
      rateLimits: true,
      loginRatePerMinute: 10,
      registerRatePerMinute: 10,
      registerCheckRatePerMinute: 60,
      roomSendRatePerMinute: 600,
      roomCreateRatePerMinute: 20,
      inviteRatePerMinute: 100,
      toDeviceRatePerMinute: 10000,
      keyClaimRatePerMinute: 5000,
      oneTimeKeysPerClaimerPerHour: 10,
      oneTimeKeysPerDevicePerHour: 200,
      directorySearchRatePerMinute: 120,
      mediaUploadRatePerMinute: 30,
      mediaUrlPreview: false,
      mediaUrlPreviewAllowNetworks: [],
      mediaUrlPreviewRatePerMinute: 20,
      mediaUrlPreviewTimeoutMs: 10000,
      maxBodyBytes: 1048576,
      accessTokenLifetimeMs: 300000,
      logLevel: 'info',
      logRequests: true,
      retention: false,
      retentionMaxLifetimeMs: undefined,
      retentionMinLifetimeMs: 60000,
      retentionIntervalMs: 60000,
      allowPlaintextMessages: false,
      allowPlaintextReactions: true,
      allowPlaintextRedactions: true,
      allowRedactionReasons: true,
      allowInRoomVerification: true,
      allowPlaintextToDevice: false,
      refusePlaintextRoomMetadata: false,
      allowCustomState: true,
      allowCustomAccountData: true,
      turnUris: [],
      turnSharedSecret: undefined,
      turnTtlMs: 86_400_000,
      turnAllowGuests: false,
      presence: false,
      mediaStore: 'fs',
      maxUploadBytes: 52_428_800,
      mediaQuotaBytes: 0,
      mediaPendingUploads: 5,
      mediaUnusedExpiresMs: 86_400_000,
      mediaLegacyUnauthenticated: false,
      mediaPlaintext: 'allow',
      mediaRetentionMs: undefined,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      metricsToken: undefined,
      pushDelivery: true,
      pushIncludeSender: false,
      pushMaxAttempts: 8,
      pushRetryInitialMs: 1000,
      pushRetryMaxMs: 600_000,
      pushGateways: [],
      webClient: true,
    });
  });

  test('every Config field has a setting', () => {
    expect(SETTINGS.map((s) => s.key).sort()).toEqual(Object.keys(loadConfig({})).sort());
    expect(new Set(SETTINGS.map((s) => s.env)).size).toBe(SETTINGS.length);
  });

  test.each([
    ['127.0.0.1', 'open'],
    ['127.0.0.53', 'open'],
    ['localhost', 'open'],
    ['::1', 'open'],
    ['0.0.0.0', 'token'],
    ['::', 'token'],
    ['192.0.2.10', 'token'],
    ['matrix.example.org', 'token'],
  ])('HOST=%s: registration defaults to %s', (host, mode) => {
    expect(loadConfig({ HOST: host }).registration).toBe(mode);
    expect(isLoopback(host)).toBe(mode === 'open');
  });

  test('an explicit REGISTRATION wins over the HOST-derived default', () => {
    expect(loadConfig({ HOST: '0.0.0.0', REGISTRATION: 'open' }).registration).toBe('open');
    expect(loadConfig({ HOST: '127.0.0.1', REGISTRATION: 'closed' }).registration).toBe('closed');
  });

  test('PUBLIC_BASEURL defaults to HOST and PORT; an explicit one loses its trailing slashes', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '9000' }).publicBaseUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ PORT: '8448' }).publicBaseUrl).toBe('http://127.0.0.1:8448');
    expect(loadConfig({ PUBLIC_BASEURL: 'https://matrix.example.org//' }).publicBaseUrl).toBe('https://matrix.example.org');
  });

  test('ALLOW_GUESTS follows REGISTRATION unless set', () => {
    expect(loadConfig({ REGISTRATION: 'closed' }).allowGuests).toBe(false);
    expect(loadConfig({ REGISTRATION: 'token' }).allowGuests).toBe(true);
    expect(loadConfig({ REGISTRATION: 'closed', ALLOW_GUESTS: 'on' }).allowGuests).toBe(true);
  });
});

describe('environment', () => {
  test('every setting is read from its variable', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PORT: '8448',
      SERVER_NAME: 'example.org',
      PUBLIC_BASEURL: 'https://matrix.example.org',
      DATABASE_URL: 'postgres://securecomm@db.example.org/securecomm',
      DATA_DIR: '/var/lib/securecomm',
      REGISTRATION: 'closed',
      ALLOW_GUESTS: 'yes',
      RATE_LIMITS: 'off',
      RATE_LIMIT_LOGIN_PER_MINUTE: '3',
      RATE_LIMIT_REGISTER_PER_MINUTE: '4',
      RATE_LIMIT_REGISTER_CHECKS_PER_MINUTE: '15',
      RATE_LIMIT_ROOM_SENDS_PER_MINUTE: '5',
      RATE_LIMIT_ROOM_CREATION_PER_MINUTE: '6',
      RATE_LIMIT_INVITES_PER_MINUTE: '7',
      RATE_LIMIT_TO_DEVICE_PER_MINUTE: '8',
      RATE_LIMIT_KEY_CLAIMS_PER_MINUTE: '9',
      RATE_LIMIT_ONE_TIME_KEYS_PER_CLAIMER_PER_HOUR: '11',
      RATE_LIMIT_ONE_TIME_KEYS_PER_DEVICE_PER_HOUR: '12',
      RATE_LIMIT_DIRECTORY_SEARCHES_PER_MINUTE: '13',
      RATE_LIMIT_MEDIA_UPLOADS_PER_MINUTE: '14',
      RATE_LIMIT_URL_PREVIEWS_PER_MINUTE: '15',
      MEDIA_URL_PREVIEW: 'on',
      MEDIA_URL_PREVIEW_ALLOW_NETWORKS: '10.20.0.0/16, fd00::/8,192.168.1.5',
      MEDIA_URL_PREVIEW_TIMEOUT: '3s',
      MAX_BODY_BYTES: '65536',
      ACCESS_TOKEN_LIFETIME_MS: '60000',
      LOG_LEVEL: 'debug',
      LOG_REQUESTS: 'false',
      DATABASE_POOL_SIZE: '4',
      DATABASE_POOL_TIMEOUT_MS: '2500',
      BUS_URL: 'nats://nats-1.example.org:4222, nats://nats-2.example.org:4222',
      BUS_PREFIX: 'securecomm.example',
      DATABASE_TX_GUARD: 'off',
      RETENTION: 'on',
      RETENTION_MAX_LIFETIME: '30d',
      RETENTION_MIN_LIFETIME: '90s',
      RETENTION_INTERVAL: '5m',
      ALLOW_PLAINTEXT_MESSAGES: 'on',
      ALLOW_PLAINTEXT_REACTIONS: 'off',
      ALLOW_PLAINTEXT_REDACTIONS: 'off',
      ALLOW_REDACTION_REASONS: 'off',
      ALLOW_IN_ROOM_VERIFICATION: 'off',
      ALLOW_PLAINTEXT_TO_DEVICE: 'on',
      REFUSE_PLAINTEXT_ROOM_METADATA: 'on',
      ALLOW_CUSTOM_STATE: 'off',
      ALLOW_CUSTOM_ACCOUNT_DATA: 'off',
      TURN_URIS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
      TURN_SHARED_SECRET: 'coturn secret',
      TURN_TTL: '12h',
      TURN_ALLOW_GUESTS: 'on',
      PRESENCE: 'on',
      MEDIA_STORE: 'postgres',
      MAX_UPLOAD_BYTES: '1000000',
      MEDIA_QUOTA_BYTES: '5000000',
      MEDIA_PENDING_UPLOADS: '2',
      MEDIA_UNUSED_EXPIRES: '1h',
      MEDIA_LEGACY_UNAUTHENTICATED: 'on',
      MEDIA_PLAINTEXT: 'refuse',
      MEDIA_RETENTION: '90d',
      METRICS_PORT: '9102',
      METRICS_HOST: '::1',
      METRICS_TOKEN: 'prometheus-scrape-token-1234',
      PUSH_DELIVERY: 'off',
      PUSH_INCLUDE_SENDER: 'on',
      PUSH_MAX_ATTEMPTS: '3',
      PUSH_RETRY_INITIAL: '2s',
      PUSH_RETRY_MAX: '1h',
      PUSH_GATEWAYS: 'https://push.example.org, http://127.0.0.1:5000/',
      WEB_CLIENT: 'off',
      TLS_CERT: '/etc/letsencrypt/live/example.org/fullchain.pem',
      TLS_KEY: '/etc/letsencrypt/live/example.org/privkey.pem',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 8448,
      serverName: 'example.org',
      publicBaseUrl: 'https://matrix.example.org',
      databaseUrl: 'postgres://securecomm@db.example.org/securecomm',
      busUrl: 'nats://nats-1.example.org:4222,nats://nats-2.example.org:4222',
      busPrefix: 'securecomm.example',
      dataDir: '/var/lib/securecomm',
      registration: 'closed',
      allowGuests: true,
      rateLimits: false,
      loginRatePerMinute: 3,
      registerRatePerMinute: 4,
      registerCheckRatePerMinute: 15,
      roomSendRatePerMinute: 5,
      roomCreateRatePerMinute: 6,
      inviteRatePerMinute: 7,
      toDeviceRatePerMinute: 8,
      keyClaimRatePerMinute: 9,
      oneTimeKeysPerClaimerPerHour: 11,
      oneTimeKeysPerDevicePerHour: 12,
      directorySearchRatePerMinute: 13,
      mediaUploadRatePerMinute: 14,
      mediaUrlPreview: true,
      mediaUrlPreviewAllowNetworks: ['10.20.0.0/16', 'fd00::/8', '192.168.1.5'],
      mediaUrlPreviewRatePerMinute: 15,
      mediaUrlPreviewTimeoutMs: 3000,
      maxBodyBytes: 65536,
      accessTokenLifetimeMs: 60000,
      logLevel: 'debug',
      logRequests: false,
      databasePoolSize: 4,
      databasePoolTimeoutMs: 2500,
      databaseTxGuard: false,
      retention: true,
      retentionMaxLifetimeMs: 30 * 86_400_000,
      retentionMinLifetimeMs: 90_000,
      retentionIntervalMs: 300_000,
      allowPlaintextMessages: true,
      allowPlaintextReactions: false,
      allowPlaintextRedactions: false,
      allowRedactionReasons: false,
      allowInRoomVerification: false,
      allowPlaintextToDevice: true,
      refusePlaintextRoomMetadata: true,
      allowCustomState: false,
      allowCustomAccountData: false,
      turnUris: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'],
      turnSharedSecret: 'coturn secret',
      turnTtlMs: 43_200_000,
      turnAllowGuests: true,
      presence: true,
      mediaStore: 'postgres',
      maxUploadBytes: 1_000_000,
      mediaQuotaBytes: 5_000_000,
      mediaPendingUploads: 2,
      mediaUnusedExpiresMs: 3_600_000,
      mediaLegacyUnauthenticated: true,
      mediaPlaintext: 'refuse',
      mediaRetentionMs: 90 * 86_400_000,
      metricsPort: 9102,
      metricsHost: '::1',
      metricsToken: 'prometheus-scrape-token-1234',
      pushDelivery: false,
      pushIncludeSender: true,
      pushMaxAttempts: 3,
      pushRetryInitialMs: 2000,
      pushRetryMaxMs: 3_600_000,
      pushGateways: ['https://push.example.org', 'http://127.0.0.1:5000'],
      webClient: false,
      tlsCert: '/etc/letsencrypt/live/example.org/fullchain.pem',
      tlsKey: '/etc/letsencrypt/live/example.org/privkey.pem',
    });
  });

  test('TLS_CERT and TLS_KEY go together, and make the default PUBLIC_BASEURL https', () => {
    expect(() => loadConfig({ TLS_CERT: '/x/fullchain.pem' })).toThrow(/TLS_CERT and TLS_KEY go together/);
    expect(() => loadConfig({ TLS_KEY: '/x/privkey.pem' })).toThrow(/TLS_CERT and TLS_KEY go together/);
    expect(loadConfig({ TLS_CERT: '/x/c.pem', TLS_KEY: '/x/k.pem', PORT: '8443' }).publicBaseUrl).toBe('https://127.0.0.1:8443');
  });

  test('on/off settings accept 1/0, true/false, yes/no, on/off in any case', () => {
    for (const on of ['1', 'true', 'TRUE', 'yes', 'On']) expect(loadConfig({ RATE_LIMITS: on }).rateLimits).toBe(true);
    for (const off of ['0', 'false', 'No', 'OFF']) expect(loadConfig({ RATE_LIMITS: off }).rateLimits).toBe(false);
  });

  test('an empty DATABASE_URL means the embedded database', () => {
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
  });

  test('BUS_URL: NATS URLs only, and only with DATABASE_URL (the embedded database is one process)', () => {
    const db = { DATABASE_URL: 'postgres://127.0.0.1/x' };
    expect(loadConfig({ ...db, BUS_URL: '' }).busUrl).toBeUndefined();
    expect(() => loadConfig({ ...db, BUS_URL: 'redis://127.0.0.1:6379' })).toThrow(/BUS_URL: "redis:.*is not a NATS URL/);
    expect(() => loadConfig({ ...db, BUS_URL: 'nats://user:secret@' })).toThrow(/^(?!.*secret)/);
    expect(() => loadConfig({ BUS_URL: 'nats://127.0.0.1:4222' })).toThrow(/BUS_URL needs DATABASE_URL/);
    expect(() => loadConfig({ ...db, BUS_PREFIX: 'a b' })).toThrow(/BUS_PREFIX must be NATS subject tokens/);
  });

  test('PORT=0 (any free port) is accepted', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  test('overrides win over everything', () => {
    expect(loadConfig({ PORT: '9000' }, { port: 1234, serverName: 'over.example' })).toMatchObject({ port: 1234, serverName: 'over.example' });
  });
});

describe('config file (SECURECOMM_CONFIG)', () => {
  test('keys in either case; YAML numbers and booleans are read as the setting expects', () => {
    const path = yamlFile(['server_name: example.org', 'PORT: 9001', 'rate_limits: false', 'Log_Level: warn', 'public_baseurl: https://m.example.org/', ''].join('\n'));
    expect(loadConfig({ SECURECOMM_CONFIG: path })).toMatchObject({
      serverName: 'example.org',
      port: 9001,
      rateLimits: false,
      logLevel: 'warn',
      publicBaseUrl: 'https://m.example.org',
    });
  });

  test('the environment wins over the file', () => {
    const path = yamlFile('port: 9001\nserver_name: file.example\nregistration: closed\n');
    expect(loadConfig({ SECURECOMM_CONFIG: path, PORT: '9002', REGISTRATION: 'token' })).toMatchObject({
      port: 9002,
      serverName: 'file.example',
      registration: 'token',
    });
  });

  test('defaults derived from other settings see the file’s values', () => {
    const path = yamlFile('host: 0.0.0.0\nport: 9443\n');
    expect(loadConfig({ SECURECOMM_CONFIG: path })).toMatchObject({ registration: 'token', publicBaseUrl: 'http://0.0.0.0:9443' });
  });

  test('an empty file gives the defaults; a null value is an empty one', () => {
    expect(loadConfig({ SECURECOMM_CONFIG: yamlFile('') })).toEqual(loadConfig({}));
    expect(loadConfig({ SECURECOMM_CONFIG: yamlFile('database_url:\n') }).databaseUrl).toBeUndefined();
  });

  test('an unknown key is an error naming the key and the file', () => {
    const path = yamlFile('port: 9001\nlisten_adress: 0.0.0.0\n');
    const err = configError({ SECURECOMM_CONFIG: path });
    expect(err.message).toContain('unknown setting "listen_adress"');
    expect(err.message).toContain(path);
  });

  test('a bad value in the file is an error naming the setting', () => {
    expect(configError({ SECURECOMM_CONFIG: yamlFile('port: eighty\n') }).message).toMatch(/^PORT must be an integer between 0 and 65535, got "eighty"$/);
    expect(configError({ SECURECOMM_CONFIG: yamlFile('registration: maybe\n') }).message).toContain('REGISTRATION');
  });

  test('a bad value in the file is no error when the environment overrides it', () => {
    expect(loadConfig({ SECURECOMM_CONFIG: yamlFile('port: eighty\n'), PORT: '9000' }).port).toBe(9000);
  });

  test('a nested value, a list, bad YAML and a missing file are clear errors', () => {
    expect(configError({ SECURECOMM_CONFIG: yamlFile('port:\n  number: 9001\n') }).message).toContain('port must be a plain value');
    expect(configError({ SECURECOMM_CONFIG: yamlFile('- port\n- 9001\n') }).message).toContain('must be a mapping of SETTING: value');
    expect(configError({ SECURECOMM_CONFIG: yamlFile('port: [9001\n') }).message).toMatch(/^cannot read config file /);
    const missing = join(dir, 'no-such-file.yaml');
    expect(configError({ SECURECOMM_CONFIG: missing }).message).toContain(`cannot read config file ${missing}`);
  });
});

describe('metrics settings', () => {
  test('off unless a port or a token is set; the listener is loopback unless told otherwise', () => {
    expect(loadConfig({ METRICS_PORT: '9102' })).toMatchObject({ metricsPort: 9102, metricsHost: '127.0.0.1', metricsToken: undefined });
    expect(loadConfig({ METRICS_PORT: '9102', METRICS_HOST: '0.0.0.0', METRICS_TOKEN: 'x'.repeat(32) })).toMatchObject({ metricsPort: 9102, metricsHost: '0.0.0.0', metricsToken: 'x'.repeat(32) });
    expect(loadConfig({ METRICS_PORT: '', METRICS_TOKEN: '' })).toMatchObject({ metricsPort: undefined, metricsToken: undefined });
  });
});

describe('bad values', () => {
  test.each([
    [{ PORT: 'abc' }, 'PORT must be an integer between 0 and 65535, got "abc"'],
    [{ PORT: '65536' }, 'PORT must be an integer between 0 and 65535, got "65536"'],
    [{ PORT: '80.5' }, 'PORT must be an integer'],
    [{ REGISTRATION: 'maybe' }, 'REGISTRATION must be one of open, token, closed, got "maybe"'],
    [{ ALLOW_GUESTS: 'sometimes' }, 'ALLOW_GUESTS must be on or off, got "sometimes"'],
    [{ RATE_LIMITS: '' }, 'RATE_LIMITS must be on or off'],
    [{ RATE_LIMIT_LOGIN_PER_MINUTE: '0' }, 'RATE_LIMIT_LOGIN_PER_MINUTE must be an integer between 1 and'],
    [{ MAX_BODY_BYTES: '100' }, 'MAX_BODY_BYTES must be an integer between 1024 and'],
    [{ ACCESS_TOKEN_LIFETIME_MS: '5' }, 'ACCESS_TOKEN_LIFETIME_MS must be an integer between 10000 and'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ METRICS_PORT: 'nine' }, 'METRICS_PORT must be an integer between 0 and 65535, got "nine"'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 16 printable characters without spaces'],
    [{ METRICS_TOKEN: 'a token with spaces in it' }, 'METRICS_TOKEN must be at least 16 printable characters'],
    [{ MEDIA_URL_PREVIEW_ALLOW_NETWORKS: '10.0.0.0/8,intranet' }, 'MEDIA_URL_PREVIEW_ALLOW_NETWORKS must be comma-separated addresses or networks'],
    [{ MEDIA_URL_PREVIEW_ALLOW_NETWORKS: '10.0.0.0/33' }, 'MEDIA_URL_PREVIEW_ALLOW_NETWORKS must be comma-separated addresses or networks'],
  ])('%j is refused with a message naming the setting', (env, message) => {
    expect(configError(env).message).toContain(message);
  });

  test('other errors are not ConfigErrors', () => {
    expect(isConfigError(new Error('x'))).toBe(false);
  });
});

describe('helpText', () => {
  test('lists every setting with its help and default', () => {
    const help = helpText();
    for (const s of SETTINGS) {
      expect(help).toMatch(new RegExp(`^  ${s.env} +${s.help.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    }
    expect(help).toContain('[default: 8008]');
    expect(help).toContain('SECURECOMM_CONFIG');
    expect(help).toContain('--migrate-only');
  });
});

test('an IPv6 HOST is bracketed in the default PUBLIC_BASEURL', () => {
  expect(loadConfig({ HOST: '::1', PORT: '8448' }).publicBaseUrl).toBe('http://[::1]:8448');
});
