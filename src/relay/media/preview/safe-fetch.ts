/**
 * Fetching a URL a user named, without letting the user reach what only the server can reach (SSRF): http and
 * https only, no credentials in the URL, and every address connected to must be public (lib/ip-addresses.ts) or in
 * the operator's allowed networks. The check runs on the addresses DNS answered, inside the connection's own lookup
 * (so a name cannot resolve once to a public address for the check and again to a private one for the connection),
 * on IP literals before connecting, and again on each redirect, which is followed by hand up to a limit. The
 * response body is read up to a byte limit (a larger Content-Length is refused before reading), without
 * compression (no decompression bombs), and the whole exchange, redirects included, has one deadline.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { inNetworks, isIpAddress, isPublicAddress } from '../../../lib/ip-addresses.js';

export interface FetchPolicy {
  /** Networks allowed although not public (MEDIA_URL_PREVIEW_ALLOW_NETWORKS). */
  allowNetworks: readonly string[];
  maxBytes: number;
  maxRedirects: number;
  /** Aborts the whole exchange (the caller's deadline). */
  signal: AbortSignal;
  accept: string;
}

export type RefusalReason = 'url' | 'address' | 'redirects' | 'too-large' | 'status' | 'timeout' | 'network';

/** Why a fetch was not made or did not succeed; `reason` decides the client's error. */
export class FetchRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'FetchRefused';
  }
}

export interface Fetched {
  /** The URL finally fetched, after redirects (relative links in the page resolve against it). */
  url: URL;
  contentType: string;
  body: Buffer;
}

const MAX_URL_LENGTH = 2048;

/** The URL if it may be fetched at all (scheme, credentials, length, a host); else FetchRefused('url'). */
export function fetchableUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new FetchRefused('url', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefused('url', 'only http and https URLs are fetched');
  if (url.username !== '' || url.password !== '') throw new FetchRefused('url', 'URLs with credentials are not fetched');
  if (url.hostname === '' || url.href.length > MAX_URL_LENGTH) throw new FetchRefused('url', 'not a fetchable URL');
  if (!isDnsHost(url.hostname)) throw new FetchRefused('url', 'the host is not a valid DNS name (labels of 1 to 63 characters, 253 in all)');
  return url;
}

/**
 * An IP literal, or a name DNS can carry (RFC 1035: labels of 1 to 63 octets, at most 253 in all, one trailing dot
 * allowed). The URL parser accepts longer ones, which the resolver then refuses (EINVAL): the client's mistake, a
 * 400, not the upstream's 502.
 */
function isDnsHost(hostname: string): boolean {
  if (hostname.startsWith('[') || isIP(hostname) !== 0) return true;
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => label.length > 0 && label.length <= 63);
}

function allowed(ip: string, policy: FetchPolicy): boolean {
  return isPublicAddress(ip) || inNetworks(ip, policy.allowNetworks);
}

const refusedAddress = () => new FetchRefused('address', 'the URL leads to an address that is not public');

/** dns.lookup, answering only when every address the name has is allowed. */
function checkedLookup(policy: FetchPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      if (addresses.length === 0) return callback(new FetchRefused('network', 'the name has no address'), '', 4);
      if (!addresses.every((a) => allowed(a.address, policy))) return callback(refusedAddress(), '', 4);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** One request, no redirect followed: the response, or FetchRefused. */
function request(url: URL, policy: FetchPolicy): Promise<http.IncomingMessage> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // An IP literal is connected to without a lookup: checked here. (WHATWG URLs have already turned 0x7f.1 and
  // 2130706433 into 127.0.0.1.)
  if (isIP(host) !== 0 && !(isIpAddress(host) && allowed(host, policy))) return Promise.reject(refusedAddress());
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(
      {
        hostname: host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers: { 'User-Agent': 'SecureComm URL preview', Accept: policy.accept, 'Accept-Encoding': 'identity' },
        lookup: checkedLookup(policy),
        agent: false,
        signal: policy.signal,
        ...(url.protocol === 'https:' ? { servername: isIP(host) ? undefined : host } : {}),
      },
      resolve,
    );
    req.on('error', (err) => reject(refusal(err, policy)));
  });
}

function refusal(err: unknown, policy: FetchPolicy): FetchRefused {
  if (err instanceof FetchRefused) return err;
  if (policy.signal.aborted) return new FetchRefused('timeout', 'the page took too long');
  return new FetchRefused('network', `the page could not be fetched (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
}

async function readBody(res: http.IncomingMessage, policy: FetchPolicy): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > policy.maxBytes) {
    res.destroy();
    throw new FetchRefused('too-large', `the response is larger than ${policy.maxBytes} bytes`);
  }
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const part of res) {
      size += (part as Buffer).length;
      if (size > policy.maxBytes) {
        res.destroy();
        throw new FetchRefused('too-large', `the response is larger than ${policy.maxBytes} bytes`);
      }
      parts.push(part as Buffer);
    }
  } catch (err) {
    throw refusal(err, policy);
  }
  return Buffer.concat(parts);
}

/** GETs `start`, following redirects under the same checks; a 200 response's body, or FetchRefused. */
export async function safeFetch(start: URL, policy: FetchPolicy): Promise<Fetched> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await request(url, policy);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume();
      if (hop >= policy.maxRedirects) throw new FetchRefused('redirects', 'too many redirects');
      try {
        url = fetchableUrl(res.headers.location, url);
      } catch {
        throw new FetchRefused('status', 'the page redirects to a URL that is not fetched');
      }
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new FetchRefused('status', `the page answered HTTP ${status}`);
    }
    const body = await readBody(res, policy);
    return { url, contentType: String(res.headers['content-type'] ?? ''), body };
  }
}
