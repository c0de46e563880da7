/**
 * Room versions: one row per version, holding every behaviour that differs between versions as a named flag. Code
 * asks the row of a room's version and never compares version strings, so a new version is a new row, not a branch.
 */

/** Event id shapes (spec: room versions 1, 3, 4): `$opaque:server`, `$` + base64 hash, `$` + url-safe base64 hash. */
export type EventIdFormat = 'v1' | 'v3' | 'v4';

export interface RoomVersion {
  readonly id: string;
  /** Offered in /capabilities and accepted by createRoom, as stable or unstable; absent: rules written, not served. */
  readonly served?: 'stable' | 'unstable';
  readonly eventIdFormat: EventIdFormat;

  // Authorization rules.
  /** v1-10: m.room.create names the creator in content.creator; v11+: the create event's sender is the creator. */
  readonly creatorInContent: boolean;
  /** v11+: m.room.redaction carries `redacts` in content instead of at the top level. */
  readonly redactsInContent: boolean;
  /** v12+: the creators (create sender + content.additional_creators) have an infinite power level. */
  readonly infiniteCreators: boolean;
  /** v10+: power levels must be integers (before: numeric strings too). */
  readonly integerPowerLevels: boolean;
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

const V10: RoomVersion = {
  id: '10',
  served: 'stable',
  eventIdFormat: 'v4',
  creatorInContent: true,
  redactsInContent: false,
  infiniteCreators: false,
  integerPowerLevels: true,
  knock: true,
  restrictedJoins: true,
  knockRestricted: true,
  redactionKeepsAliases: false,
  redactionKeepsAllow: true,
  redactionKeepsJoinAuthorisedVia: true,
  redactionV11: false,
};
const V11: RoomVersion = { ...V10, id: '11', creatorInContent: false, redactsInContent: true, redactionV11: true };
/** The authorization rules of v12 are written and tested, but the version is not served (nor advertised) yet. */
const V12: RoomVersion = { ...V11, id: '12', served: undefined, infiniteCreators: true };

const ROWS: Record<string, RoomVersion> = Object.fromEntries([V10, V11, V12].map((v) => [v.id, Object.freeze(v)]));

/** The version createRoom uses when the request names none. */
export const DEFAULT_ROOM_VERSION = '10';

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
