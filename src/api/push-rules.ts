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
  setPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
} from '../relay/push-rules/rules.js';
import { CLIENT_V3, route } from './route.js';

/** A non-compound canonical JSON value (push_condition.yaml `value`). */
const scalar = z.union([z.string(), z.number().int().min(-(2 ** 53) + 1).max(2 ** 53 - 1), z.boolean(), z.null()], {
  error: 'expected a string, an integer, a boolean or null',
});

/** Spec "Actions": `notify` (and the historical `dont_notify`/`coalesce`, stripped later), or a `set_tweak` object. */
const action = z.union([
  z.enum(['notify', 'dont_notify', 'coalesce']),
  z.looseObject({ set_tweak: z.string().min(1), value: z.unknown().optional() }).superRefine((a, ctx) => {
    if (a.set_tweak === 'highlight' && a.value !== undefined && typeof a.value !== 'boolean') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'the highlight tweak takes a boolean' });
    }
    if (a.set_tweak === 'sound' && typeof a.value !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'the sound tweak takes a string' });
    }
  }),
], { error: 'expected "notify" or a {"set_tweak": ...} object' });
const actions = z.array(action).max(100);

const MEMBER_COUNT = /^(==|<=|>=|<|>)?[0-9]+$/;

/**
 * Spec "Conditions": the parameters each known kind needs. Conditions of unknown kinds are kept as sent: they
 * "MUST NOT match any events", so storing them is harmless and keeps the client's rule intact.
 */
const condition = z
  .looseObject({ kind: z.string().min(1), key: z.string().min(1).optional(), pattern: z.string().optional(), is: z.string().optional(), value: scalar.optional() })
  .superRefine((c, ctx) => {
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

const ruleBody = z.object({ actions, conditions: z.array(condition).max(100).optional(), pattern: z.string().optional() });
const placeQuery = z.object({ before: z.string().min(1).optional(), after: z.string().min(1).optional() });

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
