/**
 * Sticky request parameters: what a connection keeps between requests. Lists sent replace the connection's lists (a
 * field a list leaves out keeps the value it had; ranges are never sticky); lists left out altogether stay. Room
 * subscriptions sent are added (or replace the room's), `unsubscribe` removes them; extension settings are merged
 * extension by extension (the to-device `since` is never kept: it is the client's own position).
 */
import { canonicalJson } from '../keys/signatures.js';
import { combineConfigs } from './required-state.js';
import type { ConnectionParams, EngineRequest, ListParams, RoomConfig } from './types.js';

/** Room subscriptions a connection keeps at most (the newest). */
export const MAX_SUBSCRIPTIONS = 500;

const normalConfig = (c: RoomConfig): RoomConfig => combineConfigs([c]);

export function mergeParams(stored: ConnectionParams, req: Pick<EngineRequest, 'lists' | 'subscriptions' | 'unsubscribe' | 'extensions'>): ConnectionParams {
  const lists: Record<string, ListParams> = {};
  if (req.lists === undefined) Object.assign(lists, stored.lists);
  else {
    for (const [name, l] of Object.entries(req.lists)) {
      const s = stored.lists[name];
      const config = normalConfig({ requiredState: l.requiredState ?? s?.requiredState ?? [], timelineLimit: l.timelineLimit ?? s?.timelineLimit ?? 0 });
      lists[name] = { ...config, ranges: l.ranges, filters: l.filters ?? s?.filters ?? {} };
    }
  }
  const subscriptions: Record<string, RoomConfig> = { ...stored.subscriptions };
  for (const [roomId, sub] of Object.entries(req.subscriptions ?? {})) {
    const s = stored.subscriptions[roomId];
    delete subscriptions[roomId];
    subscriptions[roomId] = normalConfig({ requiredState: sub.requiredState ?? s?.requiredState ?? [], timelineLimit: sub.timelineLimit ?? s?.timelineLimit ?? 0 });
  }
  for (const roomId of req.unsubscribe) delete subscriptions[roomId];
  const kept = Object.entries(subscriptions);
  const extensions: Record<string, unknown> = { ...stored.extensions };
  for (const [name, value] of Object.entries(req.extensions ?? {})) {
    const before = (stored.extensions as Record<string, unknown>)[name];
    extensions[name] = value && typeof value === 'object' ? { ...(before && typeof before === 'object' ? before : {}), ...value } : value;
  }
  const toDevice = extensions.to_device as Record<string, unknown> | undefined;
  if (toDevice && typeof toDevice === 'object') {
    const { since: _since, ...rest } = toDevice;
    const sent = (req.extensions as Record<string, Record<string, unknown> | undefined> | undefined)?.to_device?.since;
    extensions.to_device = sent !== undefined ? { ...rest, since: sent } : rest;
  }
  return {
    lists,
    subscriptions: Object.fromEntries(kept.slice(Math.max(0, kept.length - MAX_SUBSCRIPTIONS))),
    extensions: extensions as ConnectionParams['extensions'],
  };
}

/** Whether two parameter sets are the same (the to-device `since` aside, which changes with every response). */
export function sameParams(a: ConnectionParams, b: ConnectionParams): boolean {
  const strip = (p: ConnectionParams) => {
    const ext = { ...(p.extensions as Record<string, unknown>) };
    if (ext.to_device && typeof ext.to_device === 'object') {
      const { since: _s, ...rest } = ext.to_device as Record<string, unknown>;
      ext.to_device = rest;
    }
    // Compared in canonical form: parameters read back from jsonb have their keys in another order.
    return canonicalJson(JSON.parse(JSON.stringify({ ...p, extensions: ext })));
  };
  return strip(a) === strip(b);
}
