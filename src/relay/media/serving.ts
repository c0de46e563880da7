/**
 * How media is served safely (spec: "Security considerations" of the content repository): a browser must never run
 * or render an upload as part of a web page. Content-Disposition is inline only for types the spec lists as safe to
 * show inline, otherwise attachment; the file name is encoded per RFC 6266; CSP sandboxes whatever is opened;
 * nosniff stops a browser from guessing a more dangerous type; Cross-Origin-Resource-Policy lets web clients on other
 * origins embed it.
 */
import contentDisposition from 'content-disposition';

/** Spec v1.12, "Serving inline content". */
const INLINE_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav', 'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/** A Content-Type as the client gave it: type/subtype with optional parameters, printable ASCII, short. */
const MIME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[\x20-\x7e]*)?$/;

export function isContentType(s: string): boolean {
  return s.length <= 255 && MIME.test(s);
}

/** The type without parameters, lower case. */
export function essence(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

/**
 * A file name as given at upload or download: no path separators, control characters or NUL, at most 255 bytes, and
 * none of the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): with them a name
 * such as "\u202Egnp.exe" displays as "exe.png" in the recipient's download dialog. Right-to-left scripts need none of
 * them (their direction comes from the letters), so refusing them costs no real name.
 */
export function isSafeFilename(name: string): boolean {
  return (
    name.length > 0 && Buffer.byteLength(name) <= 255 && !/[/\\\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(name) && name !== '.' && name !== '..'
  );
}

export interface ServingHeaders {
  'Content-Type': string;
  'Content-Disposition': string;
  'Content-Security-Policy': string;
  'X-Content-Type-Options': string;
  'Cross-Origin-Resource-Policy': string;
  'Cache-Control': string;
}

export function servingHeaders(contentType: string, filename: string | undefined, forceInline = false): ServingHeaders {
  const type = forceInline || INLINE_TYPES.has(essence(contentType)) ? 'inline' : 'attachment';
  // text/* is served with its charset pinned, so that a browser never reinterprets it as another encoding.
  const served = essence(contentType).startsWith('text/') && !/charset=/i.test(contentType) ? `${contentType}; charset=utf-8` : contentType;
  return {
    'Content-Type': served,
    'Content-Disposition': filename !== undefined ? contentDisposition(filename, { type }) : type,
    'Content-Security-Policy': "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'cross-origin',
    // Media never changes once uploaded; it may be kept by the client, not by shared caches (authenticated).
    'Cache-Control': 'private, max-age=86400, immutable',
  };
}

/**
 * What a Range header asks of a representation of `size` bytes (RFC 9110 section 14): one satisfiable range (206),
 * none satisfiable (416, whose Content-Range is `bytes *` then a slash and the size), or the whole (200). Only `bytes=` with one range is
 * served as a range: several ranges (`bytes=0-1,5-6`) are answered with the whole content, which RFC 9110 allows
 * (a server may ignore Range) and spares multipart/byteranges; a header that does not parse is ignored likewise.
 */
export type RangeAnswer = { kind: 'whole' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeAnswer {
  const whole = { kind: 'whole' } as const;
  if (!header || size === 0) return whole;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return whole;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (!Number.isSafeInteger(suffix)) return whole;
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return whole;
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) };
}
