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
 * Not listed, until what they need is served:
 * - v1.6: GET /rooms/{roomId}/timestamp_to_event (Element's jump-to-date).
 * - v1.7: asynchronous media upload (POST /_matrix/media/v1/create, PUT /upload/{serverName}/{mediaId}).
 * - v1.11: authenticated media (/_matrix/client/v1/media/...): clients seeing v1.11 download only through it.
 * The content repository of every version (/_matrix/media/v3) is not served either: no version number can tell a
 * client that, so the gap is the media issue's, not a reason to list fewer versions than v1.5.
 */
export const SPEC_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5'];

export const UNSTABLE_FEATURES: Record<string, boolean> = {
  // Every room on this server is encrypted: clients should enable encryption for every preset.
  'io.element.e2ee_forced.public': true,
  'io.element.e2ee_forced.private': true,
  'io.element.e2ee_forced.trusted_private': true,
  // Element (up to late 2025) bootstraps cross-signing only when it sees this; the endpoints are served (v1.1).
  'org.matrix.e2e_cross_signing': true,
};
