/**
 * Room versions: one row per version, holding every behaviour that differs between versions as a named flag. Code
 * asks the row of a room's version and never compares version strings, so a new version is a new row, not a branch.
 * The rows follow the spec's room version pages (v1.19: /rooms/v1 to /rooms/v12). What only matters between servers
 * (state resolution, signing key validity, auth_events selection, canonical JSON of received PDUs) has no flag: this
 * server builds every event itself and does not federate.
 */

/** Event id shapes (spec: room versions 1, 3, 4): `$opaque:server`, `$` + base64 hash, `$` + url-safe base64 hash. */
export type EventIdFormat = 'v1' | 'v3' | 'v4';

export interface RoomVersion {
  readonly id: string;
  /** Offered in /capabilities and accepted by createRoom, as stable or unstable; absent: rules written, not served. */
  readonly served?: 'stable' | 'unstable';
  readonly eventIdFormat: EventIdFormat;
  /** v12+: the room id is `!` + the reference hash of the m.room.create event (no server part); before: `!opaque:server`. */
  readonly roomIdIsCreateHash: boolean;

  // Authorization rules.
  /** v1-10: m.room.create names the creator in content.creator; v11+: the create event's sender is the creator. */
  readonly creatorInContent: boolean;
  /** v11+: m.room.redaction carries `redacts` in content instead of at the top level. */
  readonly redactsInContent: boolean;
  /**
   * v12+: the creators (create sender + content.additional_creators) have an infinite power level and are never
   * listed in m.room.power_levels; createRoom then gives m.room.tombstone a level above state_default (150).
   */
  readonly infiniteCreators: boolean;
  /** v10+: power levels must be integers; before, integers or strings holding one ("stringy" power levels). */
  readonly integerPowerLevels: boolean;
  /** v1-5: auth rule 4, m.room.aliases is allowed when its state_key is the sender's server (no other check). */
  readonly aliasesAuthRule: boolean;
  /** v6+: changes to the `notifications` levels of m.room.power_levels are checked like `events` (rules 9.4-9.5). */
  readonly notificationsInPowerRules: boolean;
  /** v7+: the `knock` join rule and membership. */
  readonly knock: boolean;
  /** v8+: the `restricted` join rule (joins allowed by membership of another room). */
  readonly restrictedJoins: boolean;
  /** v10+: the `knock_restricted` join rule. */
  readonly knockRestricted: boolean;

  // The redaction algorithm: which content keys a redacted event keeps.
  /** v1-5: m.room.aliases keeps `aliases`. */
  readonly redactionKeepsAliases: boolean;
  /** v8+: m.room.join_rules keeps `allow`. */
  readonly redactionKeepsAllow: boolean;
  /** v9+: m.room.member keeps `join_authorised_via_users_server`. */
  readonly redactionKeepsJoinAuthorisedVia: boolean;
  /**
   * v11+: m.room.create keeps all its content (no longer only `creator`), m.room.power_levels keeps `invite`,
   * m.room.redaction keeps `redacts`, m.room.member keeps `third_party_invite.signed`.
   */
  readonly redactionV11: boolean;
}

// Each row is the previous one plus what its spec page says it changed. Every version is stable in the spec
// (/rooms: "Version N - Stable"), and /capabilities says so.
const V1: RoomVersion = {
  id: '1',
  served: 'stable',
  eventIdFormat: 'v1',
  roomIdIsCreateHash: false,
  creatorInContent: true,
  redactsInContent: false,
  infiniteCreators: false,
  integerPowerLevels: false,
  aliasesAuthRule: true,
  notificationsInPowerRules: false,
  knock: false,
  restrictedJoins: false,
  knockRestricted: false,
  redactionKeepsAliases: true,
  redactionKeepsAllow: false,
  redactionKeepsJoinAuthorisedVia: false,
  redactionV11: false,
};
/** v2: state resolution v2 only. */
const V2: RoomVersion = { ...V1, id: '2' };
/** v3: event ids are the event's reference hash (standard base64). */
const V3: RoomVersion = { ...V2, id: '3', eventIdFormat: 'v3' };
/** v4: url-safe base64 event ids. */
const V4: RoomVersion = { ...V3, id: '4', eventIdFormat: 'v4' };
/** v5: signing key validity (federation only). */
const V5: RoomVersion = { ...V4, id: '5' };
/** v6: no m.room.aliases auth rule nor redaction special case; notifications levels checked. */
const V6: RoomVersion = { ...V5, id: '6', aliasesAuthRule: false, notificationsInPowerRules: true, redactionKeepsAliases: false };
/** v7: knocking. */
const V7: RoomVersion = { ...V6, id: '7', knock: true };
/** v8: restricted join rule; join rules keep `allow` when redacted. */
const V8: RoomVersion = { ...V7, id: '8', restrictedJoins: true, redactionKeepsAllow: true };
/** v9: member events keep join_authorised_via_users_server when redacted. */
const V9: RoomVersion = { ...V8, id: '9', redactionKeepsJoinAuthorisedVia: true };
/** v10: integer power levels only; knock_restricted. */
const V10: RoomVersion = { ...V9, id: '10', integerPowerLevels: true, knockRestricted: true };
/** v11: the creator is the create event's sender; redacts in content; the v11 redaction algorithm. */
const V11: RoomVersion = { ...V10, id: '11', creatorInContent: false, redactsInContent: true, redactionV11: true };
/** v12: room ids are the create event's hash; creators (sender + additional_creators) have infinite power. */
const V12: RoomVersion = { ...V11, id: '12', roomIdIsCreateHash: true, infiniteCreators: true };

const ROWS: Record<string, RoomVersion> = Object.fromEntries(
  [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12].map((v) => [v.id, Object.freeze(v)]),
);

/**
 * The version createRoom uses when the request names none. The spec's room versions page, as of v1.16 and still in
 * v1.19 (the version this server builds to): "Servers SHOULD use room version 12 as the default room version when
 * creating new rooms" (v1.14-v1.15 said 11, v1.6-v1.13 said 10). Clients of this server read v12 rooms: matrix-js-sdk
 * 43 (and so Element) knows their hash room ids and creators' infinite power; matrix-nio 0.20 parses their /sync
 * (it takes m.room.create without `creator` for a malformed event, as in any v11 room, and otherwise works).
 */
export const DEFAULT_ROOM_VERSION = '12';

/** The row of a version whose rules this server knows (served or not); undefined for any other string. */
export function roomVersion(id: string): RoomVersion | undefined {
  return Object.hasOwn(ROWS, id) ? ROWS[id] : undefined;
}

/** The row of a stored room's version: it was checked when the room was created, so a miss is a server bug. */
export function roomVersionOf(id: string): RoomVersion {
  const row = roomVersion(id);
  if (!row) throw new Error(`A room of version ${id}, which this server has no rules for.`);
  return row;
}

/** A version a client may create rooms with. */
export function servedRoomVersion(id: string): RoomVersion | undefined {
  const row = roomVersion(id);
  return row?.served ? row : undefined;
}

/** Versions whose authorization rules are written (served or not). */
export const RULED_ROOM_VERSIONS: readonly string[] = Object.keys(ROWS);

/** The served versions and their stability, as /capabilities lists them. */
export const SERVED_ROOM_VERSIONS: Readonly<Record<string, 'stable' | 'unstable'>> = Object.fromEntries(
  Object.values(ROWS).flatMap((v) => (v.served ? [[v.id, v.served]] : [])),
);
