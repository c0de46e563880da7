/**
 * Push rules API (spec "Push Rules: API", pushrules.yaml): read the ruleset, add, move, delete, enable and set the
 * actions of rules. Bodies and queries are checked here against the spec's shapes before the relay sees them.
 */
import { z } from 'zod';
import {
  deletePushRule,
  getPushRule,
  getPushRuleActions,
  getPushRuleEnabled,
  getPushRuleset,
  getPushRulesOfKind,
  setPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
} from '../relay/push-rules/rules.js';
import { CLIENT_V3, route } from './route.js';

// Bounds at the edge: a push rule is stored on the server, and a content rule's pattern (a keyword the user wants to be
// notified of) is text in the clear, so every string, list and value of a rule has a size.
/** Patterns and condition keys: a keyword, a glob or a dotted path. */
export const PUSH_PATTERN_MAX_BYTES = 255;
/** Condition and tweak values (a sound name, a property value), and a whole condition of an unknown kind, as JSON. */
export const PUSH_VALUE_MAX_BYTES = 1024;
const MAX_ACTIONS = 20;
const MAX_CONDITIONS = 20;

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '');
/** A string of at most `max` UTF-8 bytes. */
const bounded = (max: number, min = 0) => z.string().min(min).refine((s) => Buffer.byteLength(s) <= max, { error: `at most ${max} bytes` });

/** A non-compound canonical JSON value (push_condition.yaml `value`). */
const scalar = z.union([bounded(PUSH_VALUE_MAX_BYTES), z.number().int().min(-(2 ** 53) + 1).max(2 ** 53 - 1), z.boolean(), z.null()], {
  error: 'expected a string, an integer, a boolean or null',
});

/** Spec "Actions": `notify` (and the historical `dont_notify`/`coalesce`, stripped later), or a `set_tweak` object. */
const action = z.union([
  z.enum(['notify', 'dont_notify', 'coalesce']),
  z.looseObject({ set_tweak: bounded(PUSH_PATTERN_MAX_BYTES, 1), value: z.unknown().optional() }).superRefine((a, ctx) => {
    if (jsonBytes(a) > PUSH_VALUE_MAX_BYTES) ctx.addIssue({ code: 'custom', message: `an action is at most ${PUSH_VALUE_MAX_BYTES} bytes of JSON` });
    if (a.set_tweak === 'highlight' && a.value !== undefined && typeof a.value !== 'boolean') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'the highlight tweak takes a boolean' });
    }
    if (a.set_tweak === 'sound' && typeof a.value !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'the sound tweak takes a string' });
    }
  }),
], { error: 'expected "notify" or a {"set_tweak": ...} object' });
const actions = z.array(action).max(MAX_ACTIONS);

const MEMBER_COUNT = /^(==|<=|>=|<|>)?[0-9]+$/;

/**
 * Spec "Conditions": the parameters each known kind needs. Conditions of unknown kinds are kept as sent: they
 * "MUST NOT match any events", so storing them is harmless and keeps the client's rule intact.
 */
const condition = z
  .looseObject({
    kind: bounded(PUSH_PATTERN_MAX_BYTES, 1),
    key: bounded(PUSH_PATTERN_MAX_BYTES, 1).optional(),
    pattern: bounded(PUSH_PATTERN_MAX_BYTES).optional(),
    is: z.string().max(24).optional(),
    value: scalar.optional(),
  })
  .superRefine((c, ctx) => {
    if (jsonBytes(c) > 2 * PUSH_VALUE_MAX_BYTES) ctx.addIssue({ code: 'custom', message: `a condition is at most ${2 * PUSH_VALUE_MAX_BYTES} bytes of JSON` });
    const need = (field: 'key' | 'pattern' | 'is' | 'value') => {
      if (!(field in c) || (field !== 'value' && c[field] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${c.kind} conditions need '${field}'` });
      }
    };
    switch (c.kind) {
      case 'event_match':
        need('key');
        need('pattern');
        break;
      case 'event_property_is':
      case 'event_property_contains':
        need('key');
        need('value');
        break;
      case 'room_member_count':
        need('is');
        if (c.is !== undefined && !MEMBER_COUNT.test(c.is)) ctx.addIssue({ code: 'custom', path: ['is'], message: "expected an integer optionally prefixed by ==, <, >, >= or <=" });
        break;
      case 'sender_notification_permission':
        need('key');
        break;
    }
  });

const ruleBody = z.object({ actions, conditions: z.array(condition).max(MAX_CONDITIONS).optional(), pattern: bounded(PUSH_PATTERN_MAX_BYTES).optional() });
const placeQuery = z.object({ before: bounded(PUSH_PATTERN_MAX_BYTES, 1).optional(), after: bounded(PUSH_PATTERN_MAX_BYTES, 1).optional() });

const RULESET = `${CLIENT_V3}/pushrules/global`;
const RULE = `${RULESET}/:kind/:ruleId`;

export const pushRuleRoutes = [
  /** GET /_matrix/client/v3/pushrules/ (declared without the slash: the router then takes the path with or without it) */
  route({
    operationId: 'getPushRules',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/pushrules`,
    access: 'user',
    handler: async ({ hs, requester }) => ({ global: await getPushRuleset(hs, requester.userId) }),
  }),
  /** GET /_matrix/client/v3/pushrules/global/ (with or without the slash, as above) */
  route({
    operationId: 'getPushRulesGlobal',
    r0: true,
    method: 'GET',
    path: RULESET,
    access: 'user',
    handler: async ({ hs, requester }) => getPushRuleset(hs, requester.userId),
  }),
  /** GET /_matrix/client/v3/pushrules/global/{kind}/ (not in the current spec; older clients and Synapse have it) */
  route({
    operationId: 'getPushRulesOfKind',
    method: 'GET',
    path: `${RULESET}/:kind`,
    access: 'user',
    handler: async ({ hs, requester, params }) => getPushRulesOfKind(hs, requester.userId, params.kind),
  }),
  /** GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId} */
  route({
    operationId: 'getPushRule',
    r0: true,
    method: 'GET',
    path: RULE,
    access: 'user',
    handler: async ({ hs, requester, params }) => getPushRule(hs, requester.userId, params.kind, params.ruleId),
  }),
  /** PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId} */
  route({
    operationId: 'setPushRule',
    r0: true,
    method: 'PUT',
    path: RULE,
    access: 'user',
    body: ruleBody,
    query: placeQuery,
    handler: async ({ hs, requester, params, body, query }) => {
      await setPushRule(hs, requester.userId, params.kind, params.ruleId, body, query);
      return {};
    },
  }),
  /** DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId} */
  route({
    operationId: 'deletePushRule',
    r0: true,
    method: 'DELETE',
    path: RULE,
    access: 'user',
    handler: async ({ hs, requester, params }) => {
      await deletePushRule(hs, requester.userId, params.kind, params.ruleId);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled */
  route({
    operationId: 'isPushRuleEnabled',
    r0: true,
    method: 'GET',
    path: `${RULE}/enabled`,
    access: 'user',
    handler: async ({ hs, requester, params }) => ({ enabled: await getPushRuleEnabled(hs, requester.userId, params.kind, params.ruleId) }),
  }),
  /** PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled */
  route({
    operationId: 'setPushRuleEnabled',
    r0: true,
    method: 'PUT',
    path: `${RULE}/enabled`,
    access: 'user',
    body: z.object({ enabled: z.boolean() }),
    handler: async ({ hs, requester, params, body }) => {
      await setPushRuleEnabled(hs, requester.userId, params.kind, params.ruleId, body.enabled);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions */
  route({
    operationId: 'getPushRuleActions',
    r0: true,
    method: 'GET',
    path: `${RULE}/actions`,
    access: 'user',
    handler: async ({ hs, requester, params }) => ({ actions: await getPushRuleActions(hs, requester.userId, params.kind, params.ruleId) }),
  }),
  /** PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions */
  route({
    operationId: 'setPushRuleActions',
    r0: true,
    method: 'PUT',
    path: `${RULE}/actions`,
    access: 'user',
    body: z.object({ actions }),
    handler: async ({ hs, requester, params, body }) => {
      await setPushRuleActions(hs, requester.userId, params.kind, params.ruleId, body.actions);
      return {};
    },
  }),
];
