/**
 * Third-party network lookups (bridges' protocols, portal rooms, remote users): this server runs no application
 * services, so it knows no protocol. The list is empty and every lookup is the spec's 404 for "nothing found".
 */
import { z } from 'zod';
import { notFound } from '../errors.js';
import { CLIENT_V3, route } from './route.js';

const unknownProtocol = (protocol: string) => notFound(`No bridge on this server speaks the protocol '${protocol}'.`);

export const thirdPartyLookupRoutes = [
  /** GET /_matrix/client/v3/thirdparty/protocols */
  route({ operationId: 'getProtocols', r0: true, method: 'GET', path: `${CLIENT_V3}/thirdparty/protocols`, access: 'user', handler: async () => ({}) }),
  /** GET /_matrix/client/v3/thirdparty/protocol/{protocol} */
  route({
    operationId: 'getProtocolMetadata',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/thirdparty/protocol/:protocol`,
    access: 'user',
    handler: async ({ params }) => { throw unknownProtocol(params.protocol); },
  }),
  /** GET /_matrix/client/v3/thirdparty/location/{protocol} */
  route({
    operationId: 'queryLocationByProtocol',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/thirdparty/location/:protocol`,
    access: 'user',
    handler: async ({ params }) => { throw unknownProtocol(params.protocol); },
  }),
  /** GET /_matrix/client/v3/thirdparty/user/{protocol} */
  route({
    operationId: 'queryUserByProtocol',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/thirdparty/user/:protocol`,
    access: 'user',
    handler: async ({ params }) => { throw unknownProtocol(params.protocol); },
  }),
  /** GET /_matrix/client/v3/thirdparty/location */
  route({
    operationId: 'queryLocationByAlias',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/thirdparty/location`,
    access: 'user',
    query: z.object({ alias: z.string() }),
    handler: async () => { throw notFound('No portal room on this server has that alias: it runs no bridges.'); },
  }),
  /** GET /_matrix/client/v3/thirdparty/user */
  route({
    operationId: 'queryUserByID',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/thirdparty/user`,
    access: 'user',
    query: z.object({ userid: z.string() }),
    handler: async () => { throw notFound('No bridged user has that Matrix user id: this server runs no bridges.'); },
  }),
];
