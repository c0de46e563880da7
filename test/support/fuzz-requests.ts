/**
 * Hostile requests generated from openapi.yaml: for each documented operation, fast-check arbitraries for its path
 * parameters, query parameters and JSON body. Values follow the documented schema often enough to get past the
 * first checks, and are hostile the rest of the time: NUL characters, unpaired surrogates, huge and deeply nested
 * values, wrong types, malformed percent-encoding, bytes that are not UTF-8, and real ids of other users' things.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = parseYaml(readFileSync(path.join(REPO_ROOT, 'openapi.yaml'), 'utf8')) as Obj;

function resolve(value: unknown): unknown {
  let v = value;
  for (let hops = 0; isObj(v) && typeof v.$ref === 'string' && hops < 10; hops++) {
    v = (v.$ref as string)
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (isObj(at) ? at[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  }
  return v;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: Obj;
}

export interface Operation {
  operationId: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** As documented, with {param} placeholders. */
  path: string;
  parameters: Parameter[];
  body?: Obj;
}

/** Every operation openapi.yaml documents, in document order. */
export function documentedOperations(): Operation[] {
  const out: Operation[] = [];
  for (const [p, rawItem] of Object.entries((doc.paths ?? {}) as Obj)) {
    const item = resolve(rawItem) as Obj;
    const shared = ((item.parameters as unknown[]) ?? []).map(resolve) as Parameter[];
    for (const method of ['get', 'put', 'post', 'delete'] as const) {
      const op = item[method];
      if (!isObj(op)) continue;
      const own = ((op.parameters as unknown[]) ?? []).map(resolve) as Parameter[];
      const parameters = [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own].map((x) => ({ ...x, schema: (resolve(x.schema) ?? {}) as Obj }));
      const content = isObj(op.requestBody) ? ((resolve(op.requestBody) as Obj).content as Obj | undefined) : undefined;
      const body = content && isObj(content['application/json']) ? (resolve((content['application/json'] as Obj).schema) as Obj | undefined) : undefined;
      out.push({ operationId: String(op.operationId), method: method.toUpperCase() as Operation['method'], path: p, parameters, body });
    }
  }
  return out;
}

/** Ids of real things (the fuzzing user's and another user's) that generated requests aim at. */
export interface Targets {
  userIds: string[];
  roomIds: string[];
  eventIds: string[];
  aliases: string[];
  deviceIds: string[];
  other: string[];
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '\u0000\ud800',
  '%00',
  '%',
  '..',
  '../../..',
  '/',
  '*',
  '*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
  '@',
  '@:',
  '!',
  '!:',
  '$',
  '#',
  '#:',
  ':',
  'null',
  '{}',
  '-1',
  '9'.repeat(40),
  '1e309',
  'NaN',
  '\u202e\u200b\ufeff',
  '😀',
  '\uffff',
  'A'.repeat(256),
  'é'.repeat(200),
];

/** Strings a real client would send: real ids, names and words. */
function plausibleString(targets: Targets): fc.Arbitrary<string> {
  const real = [...targets.userIds, ...targets.roomIds, ...targets.eventIds, ...targets.aliases, ...targets.deviceIds, ...targets.other];
  return fc.oneof(fc.constantFrom(...real), fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/));
}

/** Plausible values for path parameters, by name. */
function plausibleByName(name: string, targets: Targets): fc.Arbitrary<string> | undefined {
  const byName: Record<string, string[]> = {
    userId: targets.userIds,
    roomId: targets.roomIds,
    roomIdOrAlias: [...targets.roomIds, ...targets.aliases],
    roomAlias: targets.aliases,
    eventId: targets.eventIds,
    deviceId: targets.deviceIds,
    eventType: ['m.room.encrypted', 'm.room.member', 'm.room.topic', 'm.reaction', 'org.example.custom'],
    stateKey: ['', ...targets.userIds],
    relType: ['m.annotation', 'm.thread', 'm.reference', 'm.replace'],
  };
  return byName[name] ? fc.constantFrom(...byName[name]) : undefined;
}

function hostileString(targets: Targets): fc.Arbitrary<string> {
  const real = [...targets.userIds, ...targets.roomIds, ...targets.eventIds, ...targets.aliases, ...targets.deviceIds, ...targets.other];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    // A real id with a NUL, a surrogate or a separator in it: past the first checks, into the lookups.
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...real), fc.constantFrom('\u0000', '\ud800', '\udc00x', '/', ' ', ':', '%'), fc.boolean()).map(([a, b, front]) => (front ? b + a : a + b)) },
    { weight: 2, arbitrary: fc.constantFrom(...real) },
    { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.integer({ min: 300, max: 70_000 }).map((n) => 'x'.repeat(n)) },
  );
}

const HOSTILE_NUMBERS = [0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, -1e308, 0.5, 1e-300, 2 ** 63];

function hostileNumber(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
}

function deepValue(depth: number, leaf: unknown): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
}

/** Any JSON value, hostile in its strings, numbers, nesting and size. */
function hostileJson(targets: Targets): fc.Arbitrary<unknown> {
  const s = hostileString(targets);
  const leaf = fc.oneof(s, hostileNumber(), fc.boolean(), fc.constant(null));
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(s, tie('value'), { maxKeys: 4 }),
    ),
  }));
  return fc.oneof(
    { weight: 6, arbitrary: value },
    { weight: 1, arbitrary: fc.integer({ min: 90, max: 2000 }).map((d) => deepValue(d, 'x')) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
  );
}

function typeOf(schema: Obj): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') as string | undefined;
  if (isObj(schema.properties)) return 'object';
  return undefined;
}

/** A value for `schema`: shaped like it most of the time, hostile otherwise. */
function valueFor(rawSchema: unknown, targets: Targets, depth = 0): fc.Arbitrary<unknown> {
  const schema = (resolve(rawSchema) ?? {}) as Obj;
  const anyOf = (schema.oneOf ?? schema.anyOf ?? schema.allOf) as unknown[] | undefined;
  const hostile = hostileJson(targets);
  if (depth > 6) return hostile;
  if (Array.isArray(anyOf) && anyOf.length > 0) return fc.oneof(...anyOf.map((s) => valueFor(s, targets, depth + 1)), hostile);
  const shaped = shapedFor(schema, targets, depth);
  return shaped ? fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 1, arbitrary: hostile }) : hostile;
}

function shapedFor(schema: Obj, targets: Targets, depth: number): fc.Arbitrary<unknown> | undefined {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]));
  switch (typeOf(schema)) {
    case 'string':
      return fc.oneof({ weight: 3, arbitrary: plausibleString(targets) }, { weight: 1, arbitrary: hostileString(targets) });
    case 'integer':
    case 'number':
      return fc.oneof(fc.integer({ min: -2, max: 100 }), hostileNumber());
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valueFor(schema.items, targets, depth + 1), { maxLength: 4 });
    case 'object': {
      const props = isObj(schema.properties) ? (schema.properties as Obj) : {};
      const known = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, targets, depth + 1)])),
        { requiredKeys: [] },
      );
      const extraValues = isObj(schema.additionalProperties) ? valueFor(schema.additionalProperties, targets, depth + 1) : hostileJson(targets);
      const extra = fc.dictionary(hostileString(targets), extraValues, { maxKeys: 3 });
      return fc.tuple(known, extra).map(([k, e]) => ({ ...e, ...k }));
    }
    default:
      return undefined;
  }
}

/** Percent-encodes a string for a URL; an unpaired surrogate becomes its (invalid) three-byte UTF-8 form. */
export function encodeValue(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(ch);
  }
  return out;
}

/** A generated value as URL text: strings as they are, anything else as JSON. */
const asText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

/** Raw URL text, not encoded: malformed escapes and separators. */
const RAW_URL_PIECES = ['%', '%zz', '%E0%A4', '%ED%A0%80', '%C0%80', '%00', '%2F', '..', '.', '%25', '%FF', ';', '?', '#'];

function pathValue(param: Parameter, targets: Targets): fc.Arbitrary<string> {
  const plausible = plausibleByName(param.name, targets);
  return fc.oneof(
    { weight: 5, arbitrary: (plausible ?? valueForParam(param, targets).map(asText)).map(encodeValue) },
    { weight: 2, arbitrary: valueForParam(param, targets).map((v) => encodeValue(asText(v))) },
    { weight: 3, arbitrary: hostileString(targets).map(encodeValue) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PIECES) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...targets.roomIds, ...targets.userIds), fc.constantFrom(...RAW_URL_PIECES)).map(([a, b]) => encodeValue(a) + b) },
  );
}

function valueForParam(param: Parameter, targets: Targets): fc.Arbitrary<unknown> {
  // Long-poll timeouts are bounded by a case's time limit; anything else is fair game.
  if (param.name === 'timeout') return fc.oneof(fc.integer({ min: 0, max: 500 }), hostileString(targets));
  if (param.name === 'filter') return fc.oneof(hostileJson(targets).map((v) => JSON.stringify(v)), hostileString(targets));
  return valueFor(param.schema, targets);
}

export interface GeneratedRequest {
  url: string;
  /** undefined: no body; a string: JSON text; a Buffer: raw bytes. */
  body?: string | Buffer;
  /** Whether to send the fuzzing user's access token. */
  authenticated: boolean;
}

const RAW_BODIES = [
  Buffer.from('{"a":"\xff"}', 'latin1'),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from('{"a":'),
  Buffer.from('[]'),
  Buffer.from('"x"'),
  Buffer.from('{"a":1,"a":2}'),
  Buffer.from(`{"a":${'['.repeat(50_000)}`),
  Buffer.from('{"__proto__":{"x":1},"constructor":{"prototype":{"y":1}}}'),
];

/** What a poisoned request carries in exactly one place (a path parameter, a query parameter, a body key or value). */
const POISONS = ['\u0000', 'a\u0000', '\u0000\ud800', '\ud800', '\udfff', 'x'.repeat(3000), '%'];

/**
 * A request a real client could send, but for one poisoned place: everything else is plausible, so the poison
 * travels as far into the server as it can.
 */
function poisonedRequest(op: Operation, targets: Targets): fc.Arbitrary<GeneratedRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const plausible = (p: Parameter) => plausibleByName(p.name, targets) ?? shapedFor(p.schema, targets, 0)?.map(asText) ?? plausibleString(targets);
  const bodyArb = op.body ? (shapedFor(op.body, targets, 0) ?? fc.constant({})) : fc.constant(undefined);
  return fc
    .record({
      paths: fc.tuple(...pathParams.map(plausible)),
      queries: fc.tuple(...queryParams.map((p) => fc.option(plausible(p), { nil: undefined }))),
      body: bodyArb,
      slot: fc.nat(),
      poison: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...POISONS.slice(0, 3)) }, { weight: 2, arbitrary: fc.constantFrom(...POISONS.slice(3)) }),
      front: fc.boolean(),
    })
    .map(({ paths, queries, body, slot, poison, front }) => {
      const poisoned = (v: string) => (front ? poison + v : v + poison);
      const isObjBody = isObj(body);
      const bodyKeys = isObjBody ? Object.keys(body) : [];
      const slots = pathParams.length + queryParams.length + (isObjBody ? bodyKeys.length + 1 : 0);
      const at = slots === 0 ? -1 : slot % slots;
      let url = op.path;
      pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, encodeValue(at === i ? poisoned(paths[i]) : paths[i]))));
      const query = queryParams
        .map((p, i) => {
          const hit = at === pathParams.length + i;
          const v = queries[i] ?? (hit ? '' : undefined);
          return v === undefined ? undefined : `${p.name}=${encodeValue(hit ? poisoned(v) : v)}`;
        })
        .filter((x): x is string => x !== undefined)
        .join('&');
      let out: unknown = body;
      const bodyAt = at - pathParams.length - queryParams.length;
      if (isObjBody && bodyAt >= 0) {
        const copy: Obj = { ...body };
        if (bodyAt < bodyKeys.length) copy[bodyKeys[bodyAt]] = poisoned(asText(copy[bodyKeys[bodyAt]]));
        else copy[poisoned('k')] = 'v';
        out = copy;
      }
      return { url: query.length > 0 ? `${url}?${query}` : url, body: out === undefined ? undefined : JSON.stringify(out), authenticated: true };
    });
}

/** Requests for one operation: two in three poisoned in one place, the others hostile everywhere. */
export function requestsFor(op: Operation, targets: Targets): fc.Arbitrary<GeneratedRequest> {
  return fc.oneof({ weight: 2, arbitrary: poisonedRequest(op, targets) }, { weight: 1, arbitrary: wildRequest(op, targets) });
}

function wildRequest(op: Operation, targets: Targets): fc.Arbitrary<GeneratedRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const pathArb = fc.tuple(...pathParams.map((p) => pathValue(p, targets))).map((values) => {
    let url = op.path;
    pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, values[i])));
    return url;
  });
  const documented = fc.tuple(...queryParams.map((p) => fc.option(valueForParam(p, targets).map((v) => `${p.name}=${encodeValue(asText(v))}`), { nil: undefined, freq: 3 })));
  const extra = fc.oneof(fc.constant([] as string[]), fc.array(
    fc.oneof(
      fc.tuple(hostileString(targets), hostileString(targets)).map(([k, v]) => `${encodeValue(k)}=${encodeValue(v)}`),
      fc.constantFrom(...RAW_URL_PIECES).map((r) => `x=${r}`),
      fc.constantFrom(...queryParams.map((p) => p.name), 'access_token').map((name) => `${name}=1&${name}=2`),
    ),
    { maxLength: 2 },
  ));
  const query = fc.tuple(documented, extra).map(([d, e]) => [...d.filter((x): x is string => x !== undefined), ...e].join('&'));
  const body: fc.Arbitrary<string | Buffer | undefined> = op.body
    ? fc.oneof({ weight: 8, arbitrary: valueFor(op.body, targets).map((v) => JSON.stringify(v) ?? 'null') }, { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) })
    : fc.constant(undefined);
  return fc.record({ path: pathArb, query, body, authenticated: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }).map((r) => ({
    url: r.query.length > 0 ? `${r.path}?${r.query}` : r.path,
    body: r.body,
    authenticated: r.authenticated,
  }));
}
