/** Every route the server serves, by API area; openapi.yaml documents exactly these (a test checks it). */
import type { Route } from './route.js';
import { discoveryRoutes } from './discovery.js';
import { registerRoutes } from './register.js';
import { sessionRoutes } from './session.js';

export const allRoutes: Route[] = [...discoveryRoutes, ...registerRoutes, ...sessionRoutes];
