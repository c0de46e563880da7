/**
 * What this server speaks: the spec versions and unstable features /versions advertises. (The room versions
 * /capabilities lists are the served rows of rooms/room-versions.ts, next to their rules.)
 */
/** Client-server spec versions whose endpoints and formats we serve. */
export const SPEC_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

export const UNSTABLE_FEATURES: Record<string, boolean> = {
  // Every room on this server is encrypted: clients should enable encryption for every preset.
  'io.element.e2ee_forced.public': true,
  'io.element.e2ee_forced.private': true,
  'io.element.e2ee_forced.trusted_private': true,
};
