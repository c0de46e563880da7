/**
 * Matrix errors: any layer throws a MatrixError where it knows the rule; the edge middleware turns it into
 * `{errcode, error, ...extra}` with its HTTP status. Nothing else reaches a client as an error body.
 */
export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
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

export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const notJson = (msg = 'Content not JSON.') => new MatrixError(400, 'M_NOT_JSON', msg);
export const missingParam = (msg: string) => new MatrixError(400, 'M_MISSING_PARAM', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg);
export const unrecognized = (status: 404 | 405 | 400, msg: string) => new MatrixError(status, 'M_UNRECOGNIZED', msg);
export const tooLarge = (msg: string) => new MatrixError(413, 'M_TOO_LARGE', msg);
export const missingToken = (msg: string) => new MatrixError(401, 'M_MISSING_TOKEN', msg);
export const unknownToken = (msg: string, softLogout = false) => new MatrixError(401, 'M_UNKNOWN_TOKEN', msg, { soft_logout: softLogout });
export const userInUse = (msg: string) => new MatrixError(400, 'M_USER_IN_USE', msg);
export const invalidUsername = (msg: string) => new MatrixError(400, 'M_INVALID_USERNAME', msg);
export const guestForbidden = () => new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts cannot use this endpoint; register a full account.');
export const userDeactivated = () => new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.');
export const limitExceeded = (retryAfterMs: number) =>
  new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests; try again later.', { retry_after_ms: retryAfterMs }, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
export const unknownError = () => new MatrixError(500, 'M_UNKNOWN', 'Internal server error.');
