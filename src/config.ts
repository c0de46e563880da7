/**
 * Configuration: every setting, its default and its documentation live in SETTINGS, read once at start-up
 * from the environment and an optional YAML file (SECURECOMM_CONFIG); a bad value stops start-up with a clear message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { isCidr } from './lib/ip-addresses.js';
import { DEFAULT_POOL_TIMEOUT_MS, txGuardByDefault } from './db/pool.js';

type RegistrationMode = 'open' | 'token' | 'closed';

export interface Config {
  host: string;
  port: number;
  serverName: string;
  publicBaseUrl: string;
  databaseUrl: string | undefined;
  /** The bus between processes (relay/bus/): NATS at this URL; undefined = PostgreSQL LISTEN/NOTIFY. */
  busUrl: string | undefined;
  busPrefix: string;
  dataDir: string;
  databasePoolSize: number;
  databasePoolTimeoutMs: number;
  databaseTxGuard: boolean;
  registration: RegistrationMode;
  allowGuests: boolean;
  rateLimits: boolean;
  loginRatePerMinute: number;
  registerRatePerMinute: number;
  registerCheckRatePerMinute: number;
  roomSendRatePerMinute: number;
  roomCreateRatePerMinute: number;
  inviteRatePerMinute: number;
  toDeviceRatePerMinute: number;
  keyClaimRatePerMinute: number;
  oneTimeKeysPerClaimerPerHour: number;
  oneTimeKeysPerDevicePerHour: number;
  directorySearchRatePerMinute: number;
  mediaUploadRatePerMinute: number;
  maxBodyBytes: number;
  accessTokenLifetimeMs: number;
  logLevel: string;
  logRequests: boolean;
  /** Message retention (relay/retention.ts); lifetimes in ms, undefined = unlimited. */
  retention: boolean;
  retentionMaxLifetimeMs: number | undefined;
  retentionMinLifetimeMs: number;
  retentionIntervalMs: number;
  /** The encrypted-only policy (relay/policy.ts): which plaintext rooms may carry. */
  allowPlaintextMessages: boolean;
  allowPlaintextReactions: boolean;
  allowPlaintextRedactions: boolean;
  allowRedactionReasons: boolean;
  allowInRoomVerification: boolean;
  allowPlaintextToDevice: boolean;
  refusePlaintextRoomMetadata: boolean;
  allowCustomState: boolean;
  allowCustomAccountData: boolean;
  /** TURN (relay/turn.ts): coturn's use-auth-secret scheme; no URIs = no TURN server offered. */
  turnUris: string[];
  turnSharedSecret: string | undefined;
  turnTtlMs: number;
  turnAllowGuests: boolean;
  /** Presence (relay/ephemeral/presence.ts): off = nothing kept, everyone reads as offline. */
  presence: boolean;
  /** Media (relay/media/): where blobs go, how big, how much per user, what is refused. */
  mediaStore: 'fs' | 'postgres';
  maxUploadBytes: number;
  /** Bytes of media one user may keep; 0: no quota. */
  mediaQuotaBytes: number;
  mediaPendingUploads: number;
  mediaUnusedExpiresMs: number;
  mediaLegacyUnauthenticated: boolean;
  mediaPlaintext: 'allow' | 'refuse';
  /** With RETENTION on: media not downloaded for this long is deleted; undefined = kept. */
  mediaRetentionMs: number | undefined;
  /** URL previews (relay/media/preview/): off by default, as the server would learn which links people share. */
  mediaUrlPreview: boolean;
  /** Networks (CIDR) previews may fetch from although they are private, loopback or link-local: an intranet, tests. */
  mediaUrlPreviewAllowNetworks: string[];
  mediaUrlPreviewRatePerMinute: number;
  /** How long one preview may take to fetch (the page, its redirects and its image together). */
  mediaUrlPreviewTimeoutMs: number;
  /** Prometheus metrics (relay/metrics.ts): on their own listener, or on the main one behind a token; neither = off. */
  metricsPort: number | undefined;
  metricsHost: string;
  metricsToken: string | undefined;
  /** Push notifications (relay/push/): the delivery job, what a push carries, retries, which gateways pushers may name. */
  pushDelivery: boolean;
  pushIncludeSender: boolean;
  pushMaxAttempts: number;
  pushRetryInitialMs: number;
  pushRetryMaxMs: number;
  /** Gateway origins (scheme://host[:port]) pushers may name; empty: any http(s) URL. */
  pushGateways: string[];
  /** GET /.well-known/matrix/support (spec v1.10): whom to contact; all unset: 404 there. */
  supportContactEmail: string | undefined;
  supportContactMxid: string | undefined;
  supportPage: string | undefined;
  /** The web client (src/web/serve.ts): the chat page at /; off: the API only. */
  webClient: boolean;
  /** HTTPS served by the server itself: paths of the PEM certificate chain and private key; both or neither. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

interface Setting {
  key: keyof Config;
  env: string;
  help: string;
  default: (raw: Record<string, string | undefined>) => string | undefined;
  parse: (value: string, env: string) => unknown;
}

class ConfigError extends Error {}

const text = (v: string) => v;
const optionalText = (v: string) => (v === '' ? undefined : v);
function optionalMatching(pattern: RegExp, what: string) {
  return (v: string, env: string) => {
    if (v === '') return undefined;
    if (!pattern.test(v)) throw new ConfigError(`${env} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
}
function int(min: number, max: number) {
  return (v: string, env: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${env} must be an integer between ${min} and ${max}, got "${v}"`);
    return n;
  };
}
function bool(v: string, env: string): boolean {
  const s = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`${env} must be on or off, got "${v}"`);
}
function cidrs(v: string, env: string): string[] {
  const list = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const c of list) if (!isCidr(c)) throw new ConfigError(`${env} must be comma-separated addresses or networks (10.1.0.0/16, fd00::/8), got "${c}"`);
  return list;
}
function oneOf<T extends string>(...values: T[]) {
  return (v: string, env: string): T => {
    if (!(values as string[]).includes(v)) throw new ConfigError(`${env} must be one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const fixed = (value: string) => () => value;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: a number of milliseconds, or a number with a unit (90s, 10m, 12h, 7d). */
export function parseDuration(v: string, env: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new ConfigError(`${env} must be a duration such as 30000, 90s, 10m, 12h or 7d, got "${v}"`);
  return Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms'];
}
/** A comma-separated list of TURN/STUN URIs (turn:host:port?transport=udp, turns:..., stun:...). */
function turnUris(v: string, env: string): string[] {
  const uris = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const u of uris) if (!/^(turns?|stun):\S+$/.test(u)) throw new ConfigError(`${env}: "${u}" is not a turn:, turns: or stun: URI`);
  return uris;
}
function atLeastOneSecond(v: string, env: string): number {
  const ms = parseDuration(v, env);
  if (ms < 1000) throw new ConfigError(`${env} must be at least 1s, got "${v}"`);
  return ms;
}
/** A comma-separated list of http(s) origins (https://push.example.org, http://127.0.0.1:5000). */
function origins(v: string, env: string): string[] {
  const list = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  return list.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError(`${env}: "${u}" is not a URL`);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== u.replace(/\/+$/, '')) {
      throw new ConfigError(`${env}: "${u}" is not an http(s) origin such as https://push.example.org`);
    }
    return url.origin;
  });
}
const optionalDuration = (v: string, env: string) => (v === '' ? undefined : parseDuration(v, env));
const optionalPort = (v: string, env: string) => (v === '' ? undefined : int(0, 65535)(v, env));
function secretToken(v: string, env: string): string | undefined {
  if (v === '') return undefined;
  if (v.length < 16 || !/^[\x21-\x7e]+$/.test(v)) throw new ConfigError(`${env} must be at least 16 printable characters without spaces`);
  return v;
}

/** BUS_URL: one or more nats:// (or tls://) URLs, comma-separated; empty = no NATS bus. */
function busUrls(v: string, env: string): string | undefined {
  const urls = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) return undefined;
  for (const u of urls) {
    let url: URL | undefined;
    try {
      url = new URL(u);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '') {
      throw new ConfigError(`${env}: ${JSON.stringify(u.replace(/\/\/[^@/]*@/, '//…@'))} is not a NATS URL such as nats://127.0.0.1:4222`);
    }
  }
  return urls.join(',');
}

/** An IPv6 address goes in brackets inside a URL. */
export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export const SETTINGS: Setting[] = [
  { key: 'host', env: 'HOST', help: 'Address to listen on.', default: fixed('127.0.0.1'), parse: text },
  { key: 'port', env: 'PORT', help: 'TCP port to listen on.', default: fixed('8008'), parse: int(0, 65535) },
  { key: 'serverName', env: 'SERVER_NAME', help: 'The server name; user ids are @name:SERVER_NAME.', default: fixed('localhost'), parse: text },
  {
    key: 'publicBaseUrl', env: 'PUBLIC_BASEURL', help: 'Base URL clients use to reach the server; advertised in /.well-known/matrix/client.',
    default: (raw) => `${raw.TLS_CERT ? 'https' : 'http'}://${hostForUrl(raw.HOST ?? '127.0.0.1')}:${raw.PORT ?? '8008'}`, parse: (v) => v.replace(/\/+$/, ''),
  },
  {
    key: 'databaseUrl', env: 'DATABASE_URL', help: 'PostgreSQL connection string. Unset: an embedded PostgreSQL (PGlite) under DATA_DIR, for trying out and small installs.',
    default: () => undefined, parse: optionalText,
  },
  {
    key: 'busUrl', env: 'BUS_URL',
    help: 'NATS server(s) that carry wakes, typing and presence between server processes (nats://host:4222, comma-separated for a cluster). Unset: PostgreSQL LISTEN/NOTIFY, nothing to set up (docs/scaling.md says when NATS pays off). Needs DATABASE_URL.',
    default: fixed(''), parse: busUrls,
  },
  {
    key: 'busPrefix', env: 'BUS_PREFIX', help: 'Subject prefix on the NATS bus (BUS_URL): deployments sharing a NATS server each need their own.',
    default: fixed('securecomm'),
    parse: (v, env) => optionalMatching(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'NATS subject tokens (letters, digits, _ and -, joined by dots)')(v, env) ?? 'securecomm',
  },
  {
    key: 'databasePoolSize', env: 'DATABASE_POOL_SIZE',
    help: 'PostgreSQL connections per server process; default: twice the CPU count, at least 4 (the embedded database always uses one).',
    // Few connections measure faster than many on a small machine: queries issued together share one socket write,
    // and PostgreSQL switches between fewer backends (bench/README.md).
    default: () => String(Math.max(4, 2 * availableParallelism())), parse: int(1, 1000),
  },
  {
    key: 'databasePoolTimeoutMs', env: 'DATABASE_POOL_TIMEOUT_MS',
    help: 'How long a request waits for a database connection (a free one, or one being opened) before it is answered 503 M_UNKNOWN with a retry hint.',
    default: fixed(String(DEFAULT_POOL_TIMEOUT_MS)), parse: int(100, 600_000),
  },
  {
    key: 'databaseTxGuard', env: 'DATABASE_TX_GUARD',
    help: 'on: a query on the pool from inside a transaction fails at once (a bug that would freeze a pool of one). For development; costs CPU on Node 20. Default: on under tests (NODE_ENV=test).',
    default: () => (txGuardByDefault() ? 'on' : 'off'), parse: bool,
  },
  { key: 'dataDir', env: 'DATA_DIR', help: 'Where the embedded database keeps its files.', default: fixed('./data'), parse: text },
  {
    key: 'registration', env: 'REGISTRATION', help: 'open | token | closed. Default: open when HOST is a loopback address, otherwise token (registration needs a registration token).',
    default: (raw) => (isLoopback(raw.HOST ?? '127.0.0.1') ? 'open' : 'token'), parse: oneOf('open', 'token', 'closed'),
  },
  { key: 'allowGuests', env: 'ALLOW_GUESTS', help: 'Allow guest accounts (POST /register?kind=guest); follows REGISTRATION unless set.', default: (raw) => ((raw.REGISTRATION ?? '') === 'closed' ? 'off' : 'on'), parse: bool },
  { key: 'rateLimits', env: 'RATE_LIMITS', help: 'on | off. off switches every rate limit off (benchmarks, conformance suites).', default: fixed('on'), parse: bool },
  { key: 'loginRatePerMinute', env: 'RATE_LIMIT_LOGIN_PER_MINUTE', help: 'Login attempts allowed per minute, per client address and per account.', default: fixed('10'), parse: int(1, 1_000_000) },
  {
    key: 'registerRatePerMinute', env: 'RATE_LIMIT_REGISTER_PER_MINUTE',
    help: 'Registration attempts (POST /register with an auth stage, guest registrations, registration-token checks) per minute, per client address.',
    default: fixed('10'), parse: int(1, 1_000_000),
  },
  {
    key: 'registerCheckRatePerMinute', env: 'RATE_LIMIT_REGISTER_CHECKS_PER_MINUTE',
    help: 'Steps before a registration attempt (POST /register without auth, which asks for the flows; username availability) per minute, per client address.',
    default: fixed('60'), parse: int(1, 1_000_000),
  },
  { key: 'roomSendRatePerMinute', env: 'RATE_LIMIT_ROOM_SENDS_PER_MINUTE', help: 'Room events (messages, state, redactions) per minute, per user.', default: fixed('600'), parse: int(1, 1_000_000) },
  { key: 'roomCreateRatePerMinute', env: 'RATE_LIMIT_ROOM_CREATION_PER_MINUTE', help: 'Rooms created per minute, per user.', default: fixed('20'), parse: int(1, 1_000_000) },
  { key: 'inviteRatePerMinute', env: 'RATE_LIMIT_INVITES_PER_MINUTE', help: 'Invites per minute, per user (those in createRoom\'s invite list count too).', default: fixed('100'), parse: int(1, 1_000_000) },
  {
    key: 'toDeviceRatePerMinute', env: 'RATE_LIMIT_TO_DEVICE_PER_MINUTE',
    help: 'To-device messages per minute, per user (one per recipient device; "*" counts once per user).', default: fixed('10000'), parse: int(1, 10_000_000),
  },
  { key: 'keyClaimRatePerMinute', env: 'RATE_LIMIT_KEY_CLAIMS_PER_MINUTE', help: 'Devices whose keys a user claims per minute (POST /keys/claim).', default: fixed('5000'), parse: int(1, 10_000_000) },
  {
    key: 'oneTimeKeysPerClaimerPerHour', env: 'RATE_LIMIT_ONE_TIME_KEYS_PER_CLAIMER_PER_HOUR',
    help: "One-time keys one user may take from one device per hour; beyond it the device's fallback key is handed out.", default: fixed('10'), parse: int(1, 1_000_000),
  },
  {
    key: 'oneTimeKeysPerDevicePerHour', env: 'RATE_LIMIT_ONE_TIME_KEYS_PER_DEVICE_PER_HOUR',
    help: "One-time keys all users together may take from one device per hour; beyond it the device's fallback key is handed out.", default: fixed('200'), parse: int(1, 1_000_000),
  },
  {
    key: 'directorySearchRatePerMinute', env: 'RATE_LIMIT_DIRECTORY_SEARCHES_PER_MINUTE',
    help: 'Room directory and user directory searches per minute, per user (per client address without a token).', default: fixed('120'), parse: int(1, 1_000_000),
  },
  { key: 'mediaUploadRatePerMinute', env: 'RATE_LIMIT_MEDIA_UPLOADS_PER_MINUTE', help: 'Media uploads per minute, per user (POST /upload, POST /create and PUT /upload each count).', default: fixed('30'), parse: int(1, 1_000_000) },
  { key: 'maxBodyBytes', env: 'MAX_BODY_BYTES', help: 'Largest accepted request body, in bytes (larger: 413 M_TOO_LARGE).', default: fixed('1048576'), parse: int(1024, 100 * 1024 * 1024) },
  {
    key: 'accessTokenLifetimeMs', env: 'ACCESS_TOKEN_LIFETIME_MS', help: 'Lifetime of access tokens issued with a refresh token (clients that ask for refresh_token).',
    default: fixed('300000'), parse: int(10_000, 365 * 24 * 3600 * 1000),
  },
  { key: 'logLevel', env: 'LOG_LEVEL', help: 'fatal | error | warn | info | debug | trace | silent.', default: fixed('info'), parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  { key: 'logRequests', env: 'LOG_REQUESTS', help: 'Log one line per request (method, route, status, time; never bodies, tokens or client addresses).', default: fixed('on'), parse: bool },
  { key: 'retention', env: 'RETENTION', help: 'on: expired messages are deleted from the database (see "Ephemeral rooms" in the README).', default: fixed('off'), parse: bool },
  {
    key: 'retentionMaxLifetimeMs', env: 'RETENTION_MAX_LIFETIME',
    help: 'Server-wide maximum message lifetime (e.g. 30d); rooms may ask for less with m.room.retention. Empty: unlimited.',
    default: fixed(''), parse: optionalDuration,
  },
  { key: 'retentionMinLifetimeMs', env: 'RETENTION_MIN_LIFETIME', help: 'Shortest lifetime a room may set with m.room.retention.', default: fixed('1m'), parse: parseDuration },
  { key: 'retentionIntervalMs', env: 'RETENTION_INTERVAL', help: 'How often the retention job runs.', default: fixed('1m'), parse: parseDuration },
  {
    key: 'allowPlaintextMessages', env: 'ALLOW_PLAINTEXT_MESSAGES',
    help: 'Accept unencrypted room messages. Off by default: only for running conformance suites (logged loudly at start-up).',
    default: fixed('off'), parse: bool,
  },
  { key: 'allowPlaintextReactions', env: 'ALLOW_PLAINTEXT_REACTIONS', help: 'Accept m.reaction in the clear (clients never encrypt reactions). off: strict mode.', default: fixed('on'), parse: bool },
  {
    key: 'allowPlaintextRedactions', env: 'ALLOW_PLAINTEXT_REDACTIONS', help: 'Accept m.room.redaction (it carries only the redacted event id and a reason). off: strict mode.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'allowRedactionReasons', env: 'ALLOW_REDACTION_REASONS', help: 'Accept a (short) reason on redactions, which is text in the clear. off: redactions carry only the redacted event id.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'allowInRoomVerification', env: 'ALLOW_IN_ROOM_VERIFICATION',
    help: 'Accept in-room key verification events (device ids, methods, public keys, MACs), which clients send in the clear. off: users verify each other only by to-device messages.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'allowCustomState', env: 'ALLOW_CUSTOM_STATE',
    help: 'Keep room state of types outside the spec (widgets, Element Call memberships, bots\' settings), at most 4 KiB each. off: only the spec\'s state types, each in its exact shape.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'allowCustomAccountData', env: 'ALLOW_CUSTOM_ACCOUNT_DATA',
    help: 'Keep account data of types outside the spec (Element\'s im.vector.* and io.element.* settings, other clients\' settings), at most 16 KiB each. off: only the spec\'s types and secret-storage secrets.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'allowPlaintextToDevice', env: 'ALLOW_PLAINTEXT_TO_DEVICE',
    help: 'Relay to-device messages of types outside the known clear allow-list without Olm encryption (never room keys, secrets or messages). Off by default.',
    default: fixed('off'), parse: bool,
  },
  {
    key: 'refusePlaintextRoomMetadata', env: 'REFUSE_PLAINTEXT_ROOM_METADATA', help: 'Refuse room names, topics and avatars (state events are sent in the clear).',
    default: fixed('off'), parse: bool,
  },
  {
    key: 'turnUris', env: 'TURN_URIS', help: 'TURN server URIs handed to clients for calls, comma-separated (turn:turn.example.org:3478?transport=udp,...). Empty: no TURN server.',
    default: fixed(''), parse: turnUris,
  },
  { key: 'turnSharedSecret', env: 'TURN_SHARED_SECRET', help: "The secret shared with coturn (its static-auth-secret, with use-auth-secret). Needed with TURN_URIS.", default: fixed(''), parse: optionalText },
  { key: 'turnTtlMs', env: 'TURN_TTL', help: 'How long TURN credentials are valid (coturn refuses them afterwards).', default: fixed('1d'), parse: atLeastOneSecond },
  {
    key: 'presence', env: 'PRESENCE', help: 'on: users see who is online, idle or offline, when they were last active and their status message (in memory only). off: nothing is kept; everyone reads as offline.',
    default: fixed('off'), parse: bool,
  },
  {
    key: 'mediaStore', env: 'MEDIA_STORE',
    help: 'fs: media files under DATA_DIR/media (one process, or processes sharing that disk); postgres: media in the database, in chunks (several processes or machines without a shared disk).',
    default: fixed('fs'), parse: oneOf('fs', 'postgres'),
  },
  { key: 'maxUploadBytes', env: 'MAX_UPLOAD_BYTES', help: 'Largest media upload, in bytes (larger: 413 M_TOO_LARGE); advertised as m.upload.size.', default: fixed('52428800'), parse: int(1, 2 ** 40) },
  { key: 'mediaQuotaBytes', env: 'MEDIA_QUOTA_BYTES', help: 'Bytes of media each user may keep on the server (more: 403 M_FORBIDDEN). 0: no quota.', default: fixed('0'), parse: int(0, 2 ** 50) },
  {
    key: 'mediaPendingUploads', env: 'MEDIA_PENDING_UPLOADS', help: 'Media ids a user may hold created (POST /_matrix/media/v1/create) but not yet uploaded (more: 429 M_LIMIT_EXCEEDED).',
    default: fixed('5'), parse: int(1, 10_000),
  },
  { key: 'mediaUnusedExpiresMs', env: 'MEDIA_UNUSED_EXPIRES', help: 'How long a created media id waits for its upload (unused_expires_at).', default: fixed('24h'), parse: atLeastOneSecond },
  {
    key: 'mediaLegacyUnauthenticated', env: 'MEDIA_LEGACY_UNAUTHENTICATED',
    help: 'on: also serve the unauthenticated /_matrix/media/v3/download and /thumbnail (deprecated in v1.11) for old clients. off: 404 M_NOT_FOUND there.',
    default: fixed('off'), parse: bool,
  },
  {
    key: 'mediaPlaintext', env: 'MEDIA_PLAINTEXT',
    help: 'allow | refuse. refuse: uploads whose bytes are a recognisable file format (an image, a PDF, ...) are refused with 403, so only ciphertext is stored (avatars then fail).',
    default: fixed('allow'), parse: oneOf('allow', 'refuse'),
  },
  {
    key: 'mediaUrlPreview', env: 'MEDIA_URL_PREVIEW',
    help: 'on: GET /_matrix/client/v1/media/preview_url fetches the pages users ask about (OpenGraph title, description, image). The server then learns which links people share, which end-to-end encryption hides from it. off: 403 M_FORBIDDEN.',
    default: fixed('off'), parse: bool,
  },
  {
    key: 'mediaUrlPreviewAllowNetworks', env: 'MEDIA_URL_PREVIEW_ALLOW_NETWORKS',
    help: 'Addresses or networks (CIDR, comma-separated) URL previews may fetch from although they are private, loopback, link-local or otherwise not public (an intranet). Empty: public addresses only.',
    default: fixed(''), parse: cidrs,
  },
  {
    key: 'mediaUrlPreviewTimeoutMs', env: 'MEDIA_URL_PREVIEW_TIMEOUT', help: 'How long fetching one URL preview may take (page, redirects and image together); longer: 504.',
    default: fixed('10s'), parse: (v: string, env: string) => Math.max(100, parseDuration(v, env)),
  },
  { key: 'mediaUrlPreviewRatePerMinute', env: 'RATE_LIMIT_URL_PREVIEWS_PER_MINUTE', help: 'URL previews per minute, per user (cached previews count too).', default: fixed('20'), parse: int(1, 1_000_000) },
  {
    key: 'mediaRetentionMs', env: 'MEDIA_RETENTION', help: 'With RETENTION=on: media not downloaded for this long (e.g. 90d) is deleted. Empty: media is kept.',
    default: fixed(''), parse: optionalDuration,
  },
  {
    key: 'supportContactEmail', env: 'SUPPORT_CONTACT_EMAIL', help: 'Email address of the server administrator, listed in /.well-known/matrix/support (role m.role.admin).',
    default: fixed(''), parse: optionalMatching(/^[^@\s]+@[^@\s]+$/, 'an email address'),
  },
  {
    key: 'supportContactMxid', env: 'SUPPORT_CONTACT_MXID', help: 'Matrix user id of the server administrator (may be on another server), listed in /.well-known/matrix/support.',
    default: fixed(''), parse: optionalMatching(/^@[^:\s]+:\S+$/, 'a Matrix user id (@name:server)'),
  },
  {
    key: 'supportPage', env: 'SUPPORT_PAGE', help: 'URL of a help page for this server, listed in /.well-known/matrix/support.',
    default: fixed(''), parse: optionalMatching(/^https?:\/\/\S+$/, 'an http(s) URL'),
  },
  { key: 'turnAllowGuests', env: 'TURN_ALLOW_GUESTS', help: 'Hand TURN credentials to guest accounts too (off: guests get 403).', default: fixed('off'), parse: bool },
  {
    key: 'metricsPort', env: 'METRICS_PORT',
    help: 'Serve Prometheus metrics (GET /metrics) on a listener of their own on this port (METRICS_HOST). Unset, and METRICS_TOKEN unset: no metrics (they reveal metadata).',
    default: fixed(''), parse: optionalPort,
  },
  { key: 'metricsHost', env: 'METRICS_HOST', help: "Address of the metrics listener (METRICS_PORT).", default: fixed('127.0.0.1'), parse: text },
  {
    key: 'metricsToken', env: 'METRICS_TOKEN',
    help: 'A bearer token (16+ characters) that GET /metrics requires. Without METRICS_PORT the main listener serves /metrics to holders of this token.',
    default: fixed(''), parse: secretToken,
  },
  {
    key: 'pushDelivery', env: 'PUSH_DELIVERY', help: 'on: this process pushes notifications to the push gateways of pushers (several processes share the work). off: it stores notifications but pushes nothing.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'pushIncludeSender', env: 'PUSH_INCLUDE_SENDER', help: "on: pushes also carry the sender's user id and the room's name (the gateway, Apple and Google then learn them). off: event id, room id and unread count only.",
    default: fixed('off'), parse: bool,
  },
  { key: 'pushMaxAttempts', env: 'PUSH_MAX_ATTEMPTS', help: 'Tries per notification and pusher before it is given up (a gateway that fails or cannot be reached).', default: fixed('8'), parse: int(1, 100) },
  { key: 'pushRetryInitialMs', env: 'PUSH_RETRY_INITIAL', help: 'Wait before the first retry of a failed push; doubled after each failure.', default: fixed('1s'), parse: parseDuration },
  { key: 'pushRetryMaxMs', env: 'PUSH_RETRY_MAX', help: 'Longest wait between retries of a failed push.', default: fixed('10m'), parse: parseDuration },
  {
    key: 'pushGateways', env: 'PUSH_GATEWAYS', help: 'Push gateway origins pushers may name, comma-separated (https://push.example.org). Empty: any http(s) URL.',
    default: fixed(''), parse: origins,
  },
  {
    key: 'webClient', env: 'WEB_CLIENT', help: 'on: the chat page (the web client) is served at /, with the API beside it. off: the API only.',
    default: fixed('on'), parse: bool,
  },
  {
    key: 'tlsCert', env: 'TLS_CERT', help: 'Path of a PEM certificate chain (e.g. Let\'s Encrypt\'s fullchain.pem): the server then speaks HTTPS itself. Needs TLS_KEY.',
    default: fixed(''), parse: optionalText,
  },
  { key: 'tlsKey', env: 'TLS_KEY', help: 'Path of the PEM private key that goes with TLS_CERT (e.g. privkey.pem).', default: fixed(''), parse: optionalText },
];

/** Settings that only make sense together. */
function checkCombinations(config: Config): void {
  if (config.busUrl !== undefined && config.databaseUrl === undefined) {
    throw new ConfigError('BUS_URL needs DATABASE_URL: the embedded database is one process, which needs no bus');
  }
  if ((config.turnUris.length > 0) !== (config.turnSharedSecret !== undefined)) {
    throw new ConfigError('TURN_URIS and TURN_SHARED_SECRET go together: set both (TURN for calls) or neither');
  }
  if ((config.tlsCert !== undefined) !== (config.tlsKey !== undefined)) {
    throw new ConfigError('TLS_CERT and TLS_KEY go together: set both (the server speaks HTTPS) or neither');
  }
}

/** Reads the YAML file named by SECURECOMM_CONFIG; its keys are the setting names (PORT or port). */
function readConfigFile(path: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must be a mapping of SETTING: value`);
  const out: Record<string, string> = {};
  const known = new Set(SETTINGS.map((s) => s.env));
  for (const [k, v] of Object.entries(doc)) {
    const env = k.toUpperCase();
    if (!known.has(env)) throw new ConfigError(`config file ${path}: unknown setting "${k}"`);
    if (v !== null && typeof v === 'object') throw new ConfigError(`config file ${path}: ${k} must be a plain value`);
    out[env] = v === null ? '' : String(v);
  }
  return out;
}

/** Builds the configuration: environment over config file over defaults. Throws ConfigError with a clear message. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const file = env.SECURECOMM_CONFIG ? readConfigFile(env.SECURECOMM_CONFIG) : {};
  const raw: Record<string, string | undefined> = { ...file };
  for (const s of SETTINGS) if (env[s.env] !== undefined) raw[s.env] = env[s.env];
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = raw[s.env] ?? s.default(raw);
    config[s.key] = value === undefined ? undefined : s.parse(value, s.env);
  }
  const result = { ...(config as unknown as Config), ...overrides };
  checkCombinations(result);
  return result;
}

export function isConfigError(err: unknown): err is Error {
  return err instanceof ConfigError;
}

export function helpText(): string {
  const lines = [
    'SecureComm: a Matrix homeserver that relays only end-to-end encrypted data.',
    '',
    'Usage: npm start [-- --help | --migrate-only]',
    '',
    'Settings come from environment variables, or from a YAML file named by SECURECOMM_CONFIG',
    '(keys are the same names; the environment wins):',
    '',
  ];
  for (const s of SETTINGS) {
    const d = s.default({});
    lines.push(`  ${s.env.padEnd(32)} ${s.help}${d !== undefined ? ` [default: ${d}]` : ''}`);
  }
  return lines.join('\n');
}
