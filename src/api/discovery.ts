/** Discovery: server discovery (.well-known), supported versions, and the capabilities of this server. */
import type { Hs } from '../hs.js';
import { CLIENT_V3, route } from './route.js';
import { SPEC_VERSIONS, UNSTABLE_FEATURES } from '../relay/versions.js';
import { supportInfo } from '../relay/support.js';
import { DEFAULT_ROOM_VERSION, SERVED_ROOM_VERSIONS } from '../relay/rooms/room-versions.js';

export const discoveryRoutes = [
  /** GET /.well-known/matrix/client */
  route({
    operationId: 'getWellknown',
    method: 'GET',
    path: '/.well-known/matrix/client',
    access: 'none',
    handler: async ({ hs }) => ({ 'm.homeserver': { base_url: hs.config.publicBaseUrl } }),
  }),
  /** GET /.well-known/matrix/support (v1.10) */
  route({
    operationId: 'getWellknownSupport',
    method: 'GET',
    path: '/.well-known/matrix/support',
    access: 'none',
    handler: async ({ hs }) => supportInfo(hs.config),
  }),
  /** GET /_matrix/client/versions */
  route({
    operationId: 'getVersions',
    method: 'GET',
    path: '/_matrix/client/versions',
    access: 'optional',
    guests: true,
    handler: async () => ({ versions: SPEC_VERSIONS, unstable_features: UNSTABLE_FEATURES }),
  }),
  /** GET /_matrix/client/v3/capabilities */
  route({
    operationId: 'getCapabilities',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/capabilities`,
    access: 'user',
    guests: true,
    handler: async ({ hs }) => ({ capabilities: capabilities(hs) }),
  }),
];

function capabilities(_hs: Hs) {
  return {
    'm.change_password': { enabled: true },
    'm.room_versions': { default: DEFAULT_ROOM_VERSION, available: SERVED_ROOM_VERSIONS },
    'm.set_displayname': { enabled: true },
    'm.set_avatar_url': { enabled: true },
    'm.3pid_changes': { enabled: false },
    'm.get_login_token': { enabled: false },
  };
}
