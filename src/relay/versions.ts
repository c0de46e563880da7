/**
 * What this server speaks: the spec versions and unstable features /versions advertises. (The room versions
 * /capabilities lists are the served rows of rooms/room-versions.ts, next to their rules.)
 * Rule: a version is listed only when every client endpoint it added is served, because clients switch features on
 * by the versions they see (test/http/discovery.test.ts checks this list against the spec's x-addedInMatrixVersion).
 */

/**
 * Client-server spec versions whose endpoints we serve, and what each one needs:
 * - v1.1: cross-signing uploads, key backup (room_keys), knocking. SSO redirects only for servers offering
 *   `m.login.sso`, which /login does not.
 * - v1.2: space hierarchy, registration token validity.
 * - v1.3: refresh tokens (POST /refresh).
 * - v1.4: the thread list (GET /rooms/{roomId}/threads) and threaded read receipts.
 * - v1.5: no new endpoint (clarifications); matrix-js-sdk 43 refuses a server without it.
 * - v1.6: GET /rooms/{roomId}/timestamp_to_event (Element's jump to date): served (rooms/timestamp-to-event.ts).
 * - v1.7: POST /login/get_token is optional ("the server is not required to implement this endpoint"): not
 *   offered, as /capabilities says (m.get_login_token: false) and /login offers only m.login.password, so it
 *   answers 404 M_UNRECOGNIZED like any unserved endpoint. The appservice ping (POST /appservice/{id}/ping) takes an
 *   appservice's token and there are no appservices here. The asynchronous media upload (POST
 *   /_matrix/media/v1/create, PUT /upload/{serverName}/{mediaId}) is served. m.mentions: the default push rules
 *   .m.rule.is_user_mention / is_room_mention are served (push-rules/defaults.ts); the mentions themselves sit in
 *   the ciphertext, so clients evaluate them.
 * - v1.8, v1.9: no new client endpoint (room version 11, federation changes).
 * - v1.10: GET /.well-known/matrix/support: served from the SUPPORT_* settings (404 with none set, as the spec
 *   allows); /relations' `recurse` and /account/deactivate's `erase` are served.
 * - v1.11: authenticated media (/_matrix/client/v1/media/download|thumbnail|config|preview_url) is served: clients
 *   learn it from v1.11 and from the unstable feature org.matrix.msc3916.stable below (what Element Web,
 *   matrix-js-sdk users and Cinny check beside v1.11), since the unauthenticated /_matrix/media/v3 downloads are
 *   off by default (MEDIA_LEGACY_UNAUTHENTICATED) and a client that fell back to them would show no pictures.
 *   The access_token query parameter is deprecated from here on, but still accepted (below).
 * Not listed: v1.12 and later (not checked against what they need).
 */
export const SPEC_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'];

/**
 * The `access_token` query parameter, and which advertised versions oblige which behaviour (docs/legacy-clients.md):
 * - r0.x to v1.10: the spec offers it beside `Authorization: Bearer`; a server must accept it.
 * - v1.11 to v1.19: deprecated (MSC4126): clients should not send it, but it is still in the spec, so a server
 *   advertising any of these must still accept it (a deprecated feature is removed only by a later version).
 * - after v1.19: removed from the spec text (MSC4127); a server advertising only such versions may refuse it.
 * So the query parameter is accepted while any advertised version is v1.19 or older: with SPEC_VERSIONS above,
 * always. Older clients still send it (matrix-nio 0.20, Debian's, sends it on every request, on the r0 paths).
 * It is never logged: request lines carry the route pattern, never the query (api/edge.ts).
 */
export const LAST_VERSION_WITH_QUERY_ACCESS_TOKEN = 'v1.19';

/** Whether a server advertising `versions` must accept the access token in the query string (see above). */
export function queryAccessTokenRequired(versions: readonly string[]): boolean {
  return versions.some((v) => !isVersionAfter(v, LAST_VERSION_WITH_QUERY_ACCESS_TOKEN));
}

/** 'v1.12' after 'v1.9'; the r0.x releases come before every v1.x. */
function isVersionAfter(a: string, b: string): boolean {
  const key = (v: string): [number, number] => {
    if (v.startsWith('r0.')) return [0, 0];
    const [major, minor] = v.replace(/^v/, '').split('.').map(Number);
    return [major, minor];
  };
  const [x, y] = [key(a), key(b)];
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

export const ACCEPTS_QUERY_ACCESS_TOKEN = queryAccessTokenRequired(SPEC_VERSIONS);

export const UNSTABLE_FEATURES: Record<string, boolean> = {
  // Every room on this server is encrypted: clients should enable encryption for every preset.
  'io.element.e2ee_forced.public': true,
  'io.element.e2ee_forced.private': true,
  'io.element.e2ee_forced.trusted_private': true,
  // Element (up to late 2025) bootstraps cross-signing only when it sees this; the endpoints are served (v1.1).
  'org.matrix.e2e_cross_signing': true,
  // MSC3916 (spec v1.11): the authenticated media endpoints are served; clients use them when they see this or v1.11.
  'org.matrix.msc3916.stable': true,
  // MSC4186 simplified sliding sync at its unstable path (relay/sliding-sync/): Element X and the Rust SDK need it.
  'org.matrix.simplified_msc3575': true,
};
