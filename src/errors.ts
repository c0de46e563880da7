/**
 * Matrix errors: any layer throws a MatrixError where it knows the rule; the edge middleware turns it into
 * `{errcode, error, ...extra}` with its HTTP status. Nothing else reaches a client as an error body. The errcodes
 * are named constants (Codes), and each common error has a factory: code throws `forbidden(...)`, not a raw error.
 */

/** Every errcode this server sends (spec: "Standard error response" and the endpoints' own), by name. */
export const Codes = {
  BAD_ALIAS: 'M_BAD_ALIAS',
  BAD_JSON: 'M_BAD_JSON',
  BAD_STATE: 'M_BAD_STATE',
  CANNOT_OVERWRITE_MEDIA: 'M_CANNOT_OVERWRITE_MEDIA',
  FORBIDDEN: 'M_FORBIDDEN',
  GUEST_ACCESS_FORBIDDEN: 'M_GUEST_ACCESS_FORBIDDEN',
  INVALID_PARAM: 'M_INVALID_PARAM',
  INVALID_SIGNATURE: 'M_INVALID_SIGNATURE',
  INVALID_USERNAME: 'M_INVALID_USERNAME',
  KEY_TOO_LARGE: 'M_KEY_TOO_LARGE',
  LIMIT_EXCEEDED: 'M_LIMIT_EXCEEDED',
  MISSING_PARAM: 'M_MISSING_PARAM',
  MISSING_TOKEN: 'M_MISSING_TOKEN',
  NOT_FOUND: 'M_NOT_FOUND',
  NOT_JSON: 'M_NOT_JSON',
  NOT_YET_UPLOADED: 'M_NOT_YET_UPLOADED',
  PROFILE_TOO_LARGE: 'M_PROFILE_TOO_LARGE',
  THREEPID_DENIED: 'M_THREEPID_DENIED',
  THREEPID_MEDIUM_NOT_SUPPORTED: 'M_THREEPID_MEDIUM_NOT_SUPPORTED',
  ROOM_IN_USE: 'M_ROOM_IN_USE',
  TOO_LARGE: 'M_TOO_LARGE',
  UNAUTHORIZED: 'M_UNAUTHORIZED',
  UNKNOWN: 'M_UNKNOWN',
  UNKNOWN_TOKEN: 'M_UNKNOWN_TOKEN',
  /** Sliding sync (MSC4186): the connection of the request's pos is unknown or expired; the client starts over. */
  UNKNOWN_POS: 'M_UNKNOWN_POS',
  UNRECOGNIZED: 'M_UNRECOGNIZED',
  UNSUPPORTED_ROOM_VERSION: 'M_UNSUPPORTED_ROOM_VERSION',
  USER_DEACTIVATED: 'M_USER_DEACTIVATED',
  USER_IN_USE: 'M_USER_IN_USE',
  WEAK_PASSWORD: 'M_WEAK_PASSWORD',
  WRONG_ROOM_KEYS_VERSION: 'M_WRONG_ROOM_KEYS_VERSION',
} as const;

export type Errcode = (typeof Codes)[keyof typeof Codes];

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: Errcode,
    message: string,
    /** Extra top-level fields of the error body (retry_after_ms, soft_logout, a UIA body, ...). */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers (Retry-After, ...). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  body(): Record<string, unknown> {
    return { ...this.extra, errcode: this.errcode, error: this.message };
  }
}

export const badJson = (msg: string, status: 400 | 405 = 400) => new MatrixError(status, Codes.BAD_JSON, msg);
export const notJson = (msg = 'Content not JSON.') => new MatrixError(400, Codes.NOT_JSON, msg);
export const missingParam = (msg: string) => new MatrixError(400, Codes.MISSING_PARAM, msg);
export const invalidParam = (msg: string) => new MatrixError(400, Codes.INVALID_PARAM, msg);
export const forbidden = (msg: string) => new MatrixError(403, Codes.FORBIDDEN, msg);
export const notFound = (msg: string) => new MatrixError(404, Codes.NOT_FOUND, msg);
export const unrecognized = (status: 404 | 405 | 400, msg: string) => new MatrixError(status, Codes.UNRECOGNIZED, msg);
/** 413 for a body, 414 for a request URL. */
export const tooLarge = (msg: string, status: 413 | 414 = 413) => new MatrixError(status, Codes.TOO_LARGE, msg);
export const missingToken = (msg: string) => new MatrixError(401, Codes.MISSING_TOKEN, msg);
export const unknownToken = (msg: string, softLogout = false) => new MatrixError(401, Codes.UNKNOWN_TOKEN, msg, { soft_logout: softLogout });
export const userInUse = (msg: string) => new MatrixError(400, Codes.USER_IN_USE, msg);
export const invalidUsername = (msg: string) => new MatrixError(400, Codes.INVALID_USERNAME, msg);
export const weakPassword = (msg: string) => new MatrixError(400, Codes.WEAK_PASSWORD, msg);
export const guestForbidden = (msg = 'Guest accounts cannot use this endpoint; register a full account.') => new MatrixError(403, Codes.GUEST_ACCESS_FORBIDDEN, msg);
export const userDeactivated = () => new MatrixError(403, Codes.USER_DEACTIVATED, 'This account has been deactivated.');
export const unsupportedRoomVersion = (msg: string) => new MatrixError(400, Codes.UNSUPPORTED_ROOM_VERSION, msg);
/** An m.room.canonical_alias naming an alias that does not exist or points to another room (spec: 400 M_BAD_ALIAS). */
export const badAlias = (msg: string) => new MatrixError(400, Codes.BAD_ALIAS, msg);
/** The state change requested cannot be made in the room's current state (spec: 400 M_BAD_STATE). */
export const badState = (msg: string) => new MatrixError(400, Codes.BAD_STATE, msg);
export const roomInUse = (msg: string) => new MatrixError(400, Codes.ROOM_IN_USE, msg);
export const keyTooLarge = (msg: string) => new MatrixError(400, Codes.KEY_TOO_LARGE, msg);
export const profileTooLarge = (msg: string) => new MatrixError(400, Codes.PROFILE_TOO_LARGE, msg);
/** Third-party identifiers (email, phone) are refused: this server keeps none (spec: 403 M_THREEPID_DENIED). */
export const threepidDenied = () => new MatrixError(403, Codes.THREEPID_DENIED, 'Third-party identifiers (email addresses, phone numbers) are not supported on this server.');
/** Adding an email address or phone number to an account (spec: 400 M_THREEPID_MEDIUM_NOT_SUPPORTED). */
export const threepidMediumNotSupported = () =>
  new MatrixError(400, Codes.THREEPID_MEDIUM_NOT_SUPPORTED, 'Third-party identifiers (email addresses, phone numbers) are not supported on this server.');
/** `retry_after_ms` in the body and `Retry-After` (whole seconds, at least 1) in the headers. */
const withRetryHint = (status: number, errcode: Errcode, msg: string, retryAfterMs: number) =>
  new MatrixError(status, errcode, msg, { retry_after_ms: retryAfterMs }, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
export const limitExceeded = (retryAfterMs: number) => withRetryHint(429, Codes.LIMIT_EXCEEDED, 'Too many requests; try again later.', retryAfterMs);
/** 503: the server cannot serve the request now (its database is away or every connection is busy); retry later. */
export const unavailable = (msg: string, retryAfterMs: number) => withRetryHint(503, Codes.UNKNOWN, msg, retryAfterMs);
/** The key backup version a request names is not the current one (`current_version`: the current, if any). */
export const wrongRoomKeysVersion = (current: number | undefined) =>
  new MatrixError(403, Codes.WRONG_ROOM_KEYS_VERSION, 'That is not the current backup version.', current !== undefined ? { current_version: String(current) } : {});
/** M_UNKNOWN: a 500 (the default) or, where the spec names no better code, a refused request (400) or conflict (409). */
export const unknownError = (status: 400 | 409 | 500 = 500, msg = 'Internal server error.') => new MatrixError(status, Codes.UNKNOWN, msg);
/** PUT /upload/{serverName}/{mediaId} on a media id that already has its content (spec: 409). */
export const cannotOverwriteMedia = () => new MatrixError(409, Codes.CANNOT_OVERWRITE_MEDIA, 'This media id already has its content.');
/** A download of media created but not uploaded within the client's timeout_ms (spec: 504). */
export const notYetUploaded = () => new MatrixError(504, Codes.NOT_YET_UPLOADED, 'The content of this media id has not been uploaded yet.');
/** A Range that starts past the end of the content (RFC 9110: 416, with `Content-Range: bytes *\/size`). */
export const rangeNotSatisfiable = (size: number) =>
  new MatrixError(416, Codes.UNKNOWN, `The range asked for starts past the end of the content (${size} bytes).`, {}, { 'Content-Range': `bytes */${size}` });
/** What a request needs from another server (a URL preview's page) could not be had: 502, or 504 when it took too long. */
export const upstreamFailed = (status: 502 | 504, msg: string) => new MatrixError(status, Codes.UNKNOWN, msg);
/** Sliding sync: a pos that does not parse, or names connection state that is gone (MSC4186: 400 M_UNKNOWN_POS). */
export const unknownPos = (why: string) => new MatrixError(400, Codes.UNKNOWN_POS, `Unknown pos: ${why}. Start a new connection (no pos).`);
