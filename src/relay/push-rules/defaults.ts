/**
 * The server-default push rules of the spec (v1.19, "Predefined Rules"), in the spec's order, rendered for one user.
 * Their ids start with '.'; they are never stored: a user's changes to them (enabled, actions) are kept apart.
 */

export const KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type Kind = (typeof KINDS)[number];

export type Action = string | Record<string, unknown>;
export type Condition = { kind: string } & Record<string, unknown>;

/** A push rule as the API shows it (definitions/push_rule.yaml). */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: Action[];
  conditions?: Condition[];
  pattern?: string;
}

export interface DefaultRule extends PushRule {
  kind: Kind;
  /** Placed before the user's own rules of its kind (only .m.rule.master: "always a higher priority"). */
  first: boolean;
}

const notify = 'notify';
const sound = (value: string) => ({ set_tweak: 'sound', value });
const highlight = { set_tweak: 'highlight' };
const match = (key: string, pattern: string): Condition => ({ kind: 'event_match', key, pattern });

function rule(kind: Kind, id: string, conditions: Condition[], actions: Action[], enabled = true, first = false): DefaultRule {
  return { kind, first, rule_id: id, default: true, enabled, conditions, actions };
}

/**
 * The spec's server-default rules for userId. Since v1.17 the legacy body-matching rules (.m.rule.contains_user_name,
 * .m.rule.contains_display_name, .m.rule.roomnotif) are gone, so there are no default content rules.
 */
export function defaultRules(userId: string): DefaultRule[] {
  return [
    rule('override', '.m.rule.master', [], [], false, true),
    rule('override', '.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
    rule(
      'override',
      '.m.rule.invite_for_me',
      [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)],
      [notify, sound('default')],
    ),
    rule('override', '.m.rule.member_event', [match('type', 'm.room.member')], []),
    rule(
      'override',
      '.m.rule.is_user_mention',
      [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
      [notify, sound('default'), highlight],
    ),
    rule(
      'override',
      '.m.rule.is_room_mention',
      [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      [notify, highlight],
    ),
    rule('override', '.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], [notify, highlight]),
    rule('override', '.m.rule.reaction', [match('type', 'm.reaction')], []),
    rule('override', '.m.rule.room.server_acl', [match('type', 'm.room.server_acl'), match('state_key', '')], []),
    rule('override', '.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
    rule('underride', '.m.rule.call', [match('type', 'm.call.invite')], [notify, sound('ring')]),
    rule(
      'underride',
      '.m.rule.encrypted_room_one_to_one',
      [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')],
      [notify, sound('default')],
    ),
    rule('underride', '.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')], [notify, sound('default')]),
    rule('underride', '.m.rule.message', [match('type', 'm.room.message')], [notify]),
    rule('underride', '.m.rule.encrypted', [match('type', 'm.room.encrypted')], [notify]),
  ];
}

/** Server-default rule ids start with a dot (spec: "MUST start with a dot"). */
export const isDefaultRuleId = (ruleId: string) => ruleId.startsWith('.');
