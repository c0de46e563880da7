/**
 * openapi.yaml against the router (allRoutes): every documented operation is routed with the same method and path,
 * every route is documented, operationIds are unique and the Matrix spec's, and the document is well-formed OpenAPI 3.1.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { allRoutes } from '../../src/api/index.js';
import type { Route } from '../../src/api/route.js';
import { findOperationById, officialSpecFound } from '../support/spec.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OPENAPI_FILE = path.join(REPO_ROOT, 'openapi.yaml');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface DocOperation {
  operationId: unknown;
  method: string;
  path: string;
  op: Obj;
  pathItem: Obj;
}

const doc = parseYaml(readFileSync(OPENAPI_FILE, 'utf8')) as Obj;
const paths = (isObj(doc.paths) ? doc.paths : {}) as Record<string, Obj>;
const operations: DocOperation[] = Object.entries(paths).flatMap(([p, item]) =>
  HTTP_METHODS.filter((m) => isObj(item?.[m])).map((m) => ({ operationId: (item[m] as Obj).operationId, method: m.toUpperCase(), path: p, op: item[m] as Obj, pathItem: item })),
);

/** OpenAPI `{param}` as the Koa router writes it (`:param`); the router is not strict about a trailing slash. */
function toRouterPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}/]+)\}/g, ':$1');
}
const comparable = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
/**
 * A route's path as openapi.yaml documents it: an optional last-or-inner segment written as a Koa router group of
 * exactly one parameter, `{/:x}` (e.g. the state key of /state/:eventType{/:stateKey}), is the documented `/{x}`.
 * Nothing else is rewritten: any other group or syntax still has to match the documented path as written.
 */
const routedAs = (routerPath: string) => comparable(routerPath.replace(/\{\/:([^{}/:]+)\}/g, '/:$1'));
const label = (method: string, p: string, id: unknown) => `${method} ${p} (${String(id)})`;

function duplicates(values: string[]): string[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

/** Follows a local `#/...` reference inside openapi.yaml. */
function resolveLocal(value: unknown): unknown {
  let v = value;
  for (let hops = 0; isObj(v) && typeof v.$ref === 'string' && hops < 10; hops++) {
    const ref = v.$ref as string;
    if (!ref.startsWith('#/')) return undefined;
    v = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, key) => (isObj(at) ? at[key] : undefined), doc);
  }
  return v;
}

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => collectRefs(v, out));
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

/** Every JSON Schema in the document (components.schemas and each `schema` of a parameter, body, response or header), by JSON pointer. */
function schemaPointers(value: unknown, at = '', out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v, i) => schemaPointers(v, `${at}/${i}`, out));
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const here = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (k === 'schema' && isObj(v)) out.push(here);
      else if (at === '/components/schemas' && isObj(v)) out.push(here);
      else schemaPointers(v, here, out);
    }
  }
  return out;
}

/**
 * The server-server spec's operations served here (the shared spec copy holds only the client-server API), with the
 * method, path and summary of data/api/server-server in matrix-spec.
 */
const FEDERATION_OPERATIONS: Record<string, { method: string; path: string; summary: string }> = {
  exchangeOpenIdToken: { method: 'GET', path: '/_matrix/federation/v1/openid/userinfo', summary: 'Exchange an OpenID token for user information' },
};

/** Client-server operations the current spec no longer has but clients still call (r0's per-kind push rules). */
const LEGACY_OPERATIONS: Record<string, { method: string; path: string }> = {
  getPushRulesOfKind: { method: 'GET', path: '/_matrix/client/v3/pushrules/global/{kind}/' },
};

function routeFor(id: unknown): Route | undefined {
  return allRoutes.find((r) => r.operationId === id);
}

describe('openapi.yaml is OpenAPI 3.1', () => {
  test('version, info and paths', () => {
    expect(doc.openapi).toEqual(expect.stringMatching(/^3\.1\.\d+$/));
    expect(isObj(doc.info)).toBe(true);
    expect((doc.info as Obj).title).toEqual(expect.any(String));
    expect((doc.info as Obj).version).toEqual(expect.any(String));
    expect(isObj(doc.paths)).toBe(true);
    expect(operations.length).toBeGreaterThan(0);
    for (const p of Object.keys(paths)) expect(p).toMatch(/^\//);
  });

  test('every operation has an operationId, a summary, known tags and responses', () => {
    const declaredTags = new Set(((doc.tags as Obj[] | undefined) ?? []).map((t) => t.name));
    const problems: string[] = [];
    for (const o of operations) {
      const at = label(o.method, o.path, o.operationId);
      if (typeof o.operationId !== 'string' || o.operationId === '') problems.push(`${at}: no operationId`);
      if (typeof o.op.summary !== 'string' || o.op.summary === '') problems.push(`${at}: no summary`);
      const tags = o.op.tags;
      if (!Array.isArray(tags) || tags.length === 0) problems.push(`${at}: no tags`);
      else for (const t of tags) if (!declaredTags.has(t)) problems.push(`${at}: tag ${String(t)} is not declared under tags`);
      if (!isObj(o.op.responses) || Object.keys(o.op.responses).length === 0) problems.push(`${at}: no responses`);
    }
    expect(problems).toEqual([]);
  });

  test('operationIds are unique, in openapi.yaml and among the routes', () => {
    expect(duplicates(operations.map((o) => String(o.operationId)))).toEqual([]);
    expect(duplicates(allRoutes.map((r) => r.operationId))).toEqual([]);
  });

  test('every path parameter is declared, and every $ref is local and resolves', () => {
    const problems: string[] = [];
    for (const o of operations) {
      const declared = [...((o.pathItem.parameters as unknown[]) ?? []), ...((o.op.parameters as unknown[]) ?? [])]
        .map(resolveLocal)
        .filter((p): p is Obj => isObj(p) && p.in === 'path')
        .map((p) => p.name);
      for (const [, name] of o.path.matchAll(/\{([^}/]+)\}/g)) {
        if (!declared.includes(name)) problems.push(`${label(o.method, o.path, o.operationId)}: path parameter ${name} is not declared`);
      }
    }
    for (const ref of collectRefs(doc)) {
      if (!ref.startsWith('#/')) problems.push(`$ref ${ref} is not local to openapi.yaml`);
      else if (resolveLocal({ $ref: ref }) === undefined) problems.push(`$ref ${ref} resolves to nothing`);
    }
    expect(problems).toEqual([]);
  });
});

describe('openapi.yaml schemas', () => {
  test('every schema is valid JSON Schema 2020-12 and its references compile', () => {
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const id = 'https://securecomm.invalid/openapi.yaml';
    ajv.addSchema({ ...doc, $id: id }, undefined, undefined, false);
    const pointers = schemaPointers(doc);
    expect(pointers.length).toBeGreaterThan(operations.length);
    const problems: string[] = [];
    for (const ptr of pointers) {
      const node = ptr
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((v, k) => (isObj(v) || Array.isArray(v) ? (v as Obj)[k] : undefined), doc);
      if (!ajv.validateSchema(node as object)) problems.push(`${ptr}: ${ajv.errorsText(ajv.errors)}`);
      try {
        ajv.compile({ $ref: `${id}#${ptr.split('/').map(encodeURIComponent).join('/')}` });
      } catch (err) {
        problems.push(`${ptr}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('openapi.yaml documents exactly what is routed', () => {
  test('every documented operation is routed with the same method and path', () => {
    const problems: string[] = [];
    for (const o of operations) {
      const r = routeFor(o.operationId);
      const at = label(o.method, o.path, o.operationId);
      if (!r) {
        problems.push(`${at}: no route has this operationId`);
        continue;
      }
      if (r.method !== o.method) problems.push(`${at}: routed as ${r.method}`);
      if (routedAs(r.path) !== comparable(toRouterPath(o.path))) problems.push(`${at}: routed at ${r.path}, expected ${toRouterPath(o.path)}`);
    }
    expect(problems).toEqual([]);
  });

  test('every route is documented', () => {
    const documented = new Set(operations.map((o) => `${o.method} ${comparable(toRouterPath(o.path))} ${String(o.operationId)}`));
    const missing = allRoutes.filter((r) => !documented.has(`${r.method} ${routedAs(r.path)} ${r.operationId}`)).map((r) => label(r.method, r.path, r.operationId));
    expect(missing).toEqual([]);
  });

  test('every rate-limited route documents its 429', () => {
    const problems: string[] = [];
    for (const o of operations) {
      const r = routeFor(o.operationId);
      if (!r?.limits?.length) continue;
      if (!(o.op.responses as Obj | undefined)?.['429']) problems.push(`${label(o.method, o.path, o.operationId)}: rate-limited, so it documents 429`);
    }
    expect(problems).toEqual([]);
  });

  test('security and guest access match how each route authenticates', () => {
    const problems: string[] = [];
    for (const o of operations) {
      const r = routeFor(o.operationId);
      if (!r) continue; // reported above
      const at = label(o.method, o.path, o.operationId);
      const security = (o.op.security ?? doc.security) as Obj[] | undefined;
      const optional = security === undefined || security.some((s) => Object.keys(s).length === 0);
      const bearer = security?.some((s) => 'bearer' in s) ?? false;
      if ((r.access === 'user' || r.access === 'admin') && (!bearer || optional)) problems.push(`${at}: needs a token; security must be [{bearer: []}]`);
      if (r.access === 'optional' && !(bearer && optional)) problems.push(`${at}: a token is optional; security must be [{}, {bearer: []}]`);
      if (r.access === 'none' && !optional) problems.push(`${at}: needs no token; security must be absent or include {}`);
      if (o.op['x-securecomm-guests'] !== (r.guests === true)) problems.push(`${at}: x-securecomm-guests must be ${r.guests === true}`);
    }
    expect(problems).toEqual([]);
  });

  // Needs the official spec (skipped without it; test/support/global-setup.mjs says so at the start of the run).
  (officialSpecFound() ? test : test.skip)("operationIds, methods, paths and summaries are the Matrix spec's", () => {
    const problems: string[] = [];
    for (const o of operations) {
      const at = label(o.method, o.path, o.operationId);
      // SecureComm's own API (the admin API) is not in the Matrix spec; its operations carry the Admin tag.
      if (o.path.startsWith('/_securecomm/')) {
        if (!(o.op.tags as unknown[] | undefined)?.includes('Admin')) problems.push(`${at}: /_securecomm/ operations are tagged Admin`);
        continue;
      }
      // Operator endpoints outside /_matrix (metrics) are SecureComm's own too; they carry the Operations tag.
      if (!o.path.startsWith('/_matrix/') && !o.path.startsWith('/.well-known/')) {
        if (!(o.op.tags as unknown[] | undefined)?.includes('Operations')) problems.push(`${at}: operations outside /_matrix/ are tagged Operations`);
        continue;
      }
      // Unstable endpoints (an MSC not in a released spec version) name the unstable feature they belong to.
      if (o.path.includes('/unstable/')) {
        if (typeof o.op['x-securecomm-unstable'] !== 'string') problems.push(`${at}: an unstable operation names its feature in x-securecomm-unstable`);
        continue;
      }
      if (o.path.startsWith('/_matrix/federation/')) {
        const fed = FEDERATION_OPERATIONS[String(o.operationId)];
        if (!fed) problems.push(`${at}: not a server-server operation SecureComm serves`);
        else if (fed.method !== o.method || fed.path !== o.path || fed.summary !== o.op.summary) problems.push(`${at}: the spec has ${fed.method} ${fed.path} "${fed.summary}"`);
        continue;
      }
      const legacy = LEGACY_OPERATIONS[String(o.operationId)];
      if (legacy) {
        if (legacy.method !== o.method || legacy.path !== o.path) problems.push(`${at}: expected ${legacy.method} ${legacy.path}`);
        continue;
      }
      let spec;
      try {
        spec = findOperationById(String(o.operationId));
      } catch (err) {
        problems.push(`${at}: ${(err as Error).message}`);
        continue;
      }
      // The spec keys inviteUser's path as '/rooms/{roomId}/invite ' (a trailing space, only to tell it apart
      // from inviteBy3PID's in its YAML); that space is not part of the HTTP path.
      const specPath = spec.fullPath.replace(/ +$/, '');
      if (spec.method !== o.method || specPath !== o.path) problems.push(`${at}: the spec has ${spec.method} ${spec.fullPath}`);
      if (spec.summary !== undefined && spec.summary !== o.op.summary) problems.push(`${at}: the spec's summary is "${spec.summary}"`);
    }
    expect(problems).toEqual([]);
  });
});
