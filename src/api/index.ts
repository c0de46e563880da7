/** Every route the server serves, by API area; openapi.yaml documents exactly these (a test checks it). */
import type { Route } from './route.js';
import { discoveryRoutes } from './discovery.js';
import { registerRoutes } from './register.js';
import { sessionRoutes } from './session.js';
import { accountRoutes } from './account.js';
import { deviceRoutes } from './devices.js';
import { profileRoutes } from './profile.js';
import { accountDataRoutes } from './account-data.js';
import { filterRoutes } from './filters.js';
import { pushRuleRoutes } from './push-rules.js';
import { roomRoutes } from './rooms.js';
import { roomEventRoutes } from './room-events.js';
import { relationRoutes } from './relations.js';
import { aliasRoutes } from './aliases.js';
import { syncRoutes } from './sync.js';
import { keyRoutes } from './keys.js';
import { toDeviceRoutes } from './to-device.js';
import { keyBackupRoutes } from './key-backup.js';
import { directoryRoutes } from './directory.js';
import { roomAccountDataRoutes } from './room-account-data.js';
import { ephemeralRoutes } from './ephemeral.js';
import { adminRoutes } from './admin.js';
import { threepidRoutes } from './threepids.js';
import { thirdPartyLookupRoutes } from './third-party-lookup.js';
import { whoisRoutes } from './whois.js';
import { openIdRoutes } from './openid.js';

export const allRoutes: Route[] = [...discoveryRoutes, ...registerRoutes, ...sessionRoutes, ...accountRoutes, ...deviceRoutes, ...profileRoutes, ...accountDataRoutes, ...filterRoutes, ...pushRuleRoutes, ...roomRoutes, ...roomEventRoutes, ...relationRoutes, ...aliasRoutes, ...syncRoutes, ...keyRoutes, ...toDeviceRoutes, ...keyBackupRoutes, ...directoryRoutes, ...roomAccountDataRoutes, ...ephemeralRoutes, ...adminRoutes, ...threepidRoutes, ...thirdPartyLookupRoutes, ...whoisRoutes, ...openIdRoutes];
