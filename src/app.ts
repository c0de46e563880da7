/**
 * buildApp(hs): the Koa application. Edge middleware first (logging, errors, CORS, the input gate, body), then every declared
 * route (under each of its servedPaths: r0 aliases too), with the web client's page at / unless WEB_CLIENT=off (web/serve.ts); unknown paths get 404 M_UNRECOGNIZED and known paths with another method 405 M_UNRECOGNIZED.
 */
import Koa from 'koa';
import Router from '@koa/router';
import type { Hs } from './hs.js';
import { unrecognized } from './errors.js';
import { corsMiddleware, errorMiddleware, jsonContentTypeMiddleware, requestLogMiddleware } from './api/edge.js';
import { jsonBodyMiddleware, urlGateMiddleware } from './api/input-gate.js';
import { allRoutes } from './api/index.js';
import { runRoute, servedPaths, type Route } from './api/route.js';
import { webClientMiddleware } from './web/serve.js';
import { Lru } from './lib/lru.js';

/** Routes whose body the edge must not read as JSON (media uploads stream it), by method and router path. */
const streamingBodies = new Set(allRoutes.filter((r) => r.streamsBody).flatMap((r) => servedPaths(r).map((p) => `${r.method} ${p}`)));

/**
 * Matching a path tests it against every route's pattern (270 of them: about 25 µs), and a request is matched twice
 * (below, then by the router's dispatch); every /sync long-poll has the same path. So recent results are remembered,
 * by method and path, and each call gets its own copy of the arrays (the router stores them on the context).
 */
function rememberMatches(router: Router): void {
  const match = router.match.bind(router);
  const recent = new Lru<string, ReturnType<Router['match']>>(256);
  router.match = (path, method) => {
    const key = `${method} ${path}`;
    let result = recent.get(key);
    if (!result) recent.set(key, (result = match(path, method)));
    return { path: [...result.path], pathAndMethod: [...result.pathAndMethod], route: result.route };
  };
}

function buildRouter(hs: Hs, routes: Route[] = allRoutes): Router {
  const router = new Router({ strict: false });
  rememberMatches(router);
  for (const r of routes) {
    for (const path of servedPaths(r)) {
      router.register(path, [r.method], async (ctx) => {
        await runRoute(hs, r, ctx, ctx.params as Record<string, string>);
      });
    }
  }
  return router;
}

export function buildApp(hs: Hs): Koa {
  const app = new Koa({ proxy: false });
  const router = buildRouter(hs);
  app.use(requestLogMiddleware(hs));
  app.use(jsonContentTypeMiddleware);
  app.use(errorMiddleware(hs));
  app.use(corsMiddleware);
  app.use(urlGateMiddleware);
  // The web client's paths (/, /assets/..., /join/...) only; every other path goes on to the API.
  if (hs.config.webClient) app.use(webClientMiddleware());
  app.use(async (ctx, next) => {
    const match = router.match(ctx.path, ctx.method);
    if (!match.route) {
      if (match.path.length > 0) throw unrecognized(405, `Method ${ctx.method} is not allowed on this endpoint.`);
      throw unrecognized(404, 'Unrecognized request.');
    }
    ctx.state.routePath = match.pathAndMethod[0].path;
    ctx.state.route = `${ctx.method} ${ctx.state.routePath}`;
    ctx.state.streamsBody = streamingBodies.has(ctx.state.route);
    await next();
  });
  app.use(jsonBodyMiddleware(hs));
  app.use(router.routes());
  // Koa's own error printing would bypass our logger; errors are handled by errorMiddleware.
  app.silent = true;
  return app;
}
