// The auto-discovery API as a Hono app factory; it never opens a port (start-api.ts serves it).
// Every answer is JSON; client input never causes a 5xx (a store that cannot be written is a 503).
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { RoutingStore } from "../store/routing-store.ts";
import { BackendInputError, StoreError } from "../store/store-errors.ts";
import type { Logger } from "../core/logger.ts";
import { silentLogger } from "../core/logger.ts";
import { apiError } from "./api-error.ts";
import { bearerGuard } from "./bearer-guard.ts";
import { backendView } from "./backend-view.ts";
import { backendId, parseRegisterBody } from "./register-body.ts";
import { BACKEND_ID_FORM } from "../core/backend-id.ts";
import { VERSION } from "./version.ts";
import { healthReport, type HealthStatus } from "./health-report.ts";
import { hostPort } from "../core/host-port.ts";
import type { ClusterStatus } from "../core/cluster-view.ts";

export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiDeps {
  readonly store: RoutingStore;
  readonly now: () => number;
  readonly heartbeatTtlMs: number;
  /** EDGEPROXY_API_TOKEN: required as a bearer token on every mutating endpoint when set. */
  readonly token: string | null;
  /** Backends the proxy routes to right now (healthy, in the current route snapshot). */
  readonly routableBackends: () => number;
  /** "draining" during graceful shutdown (503); "ok" when absent. */
  readonly status?: () => HealthStatus;
  readonly startedAtMs: number;
  readonly version?: string;
  /** Called after each change to the routing store, so the proxy can apply it without waiting. */
  readonly onChange?: () => void;
  readonly log?: Logger;
  /** Replication membership (GET /api/v1/cluster); absent when EDGEPROXY_REPLICATION_ENABLED is off. */
  readonly cluster?: () => ClusterStatus;
}

const ROUTES: readonly (readonly [string, readonly string[]])[] = [
  ["/health", ["GET", "HEAD"]],
  ["/api/v1/register", ["POST"]],
  ["/api/v1/heartbeat/:id", ["POST"]],
  ["/api/v1/backends", ["GET", "HEAD"]],
  ["/api/v1/backends/:id", ["GET", "HEAD", "DELETE"]],
  ["/api/v1/cluster", ["GET", "HEAD"]],
];

export function createApi(deps: ApiDeps): Hono {
  const { store, now, heartbeatTtlMs } = deps;
  const log = deps.log ?? silentLogger;
  const changed = () => deps.onChange?.();
  const guard: MiddlewareHandler = deps.token !== null ? bearerGuard(deps.token) : async (_c, next) => { await next(); };
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => apiError(c, 400, "body", `body: expected at most ${MAX_BODY_BYTES} bytes (64 KiB)`),
  });
  const app = new Hono();

  const health = { status: deps.status ?? (() => "ok" as const), routableBackends: deps.routableBackends, startedAtMs: deps.startedAtMs, now, version: deps.version ?? VERSION };
  app.get("/health", (c) => {
    const report = healthReport(health);
    return c.json(report.body, report.httpStatus);
  });

  app.post("/api/v1/register", guard, limit, async (c) => {
    const body = await readJson(c);
    if (!body.ok) return apiError(c, 400, "body", body.error);
    const nowMs = now();
    const input = parseRegisterBody(body.value, nowMs);
    if (!input.ok) return apiError(c, 400, input.field, input.error);
    const existed = await store.upsertBackend(input.value);
    log.info(existed ? "backend re-registered" : "backend registered", { id: input.value.id, addr: hostPort(input.value.host, input.value.port), region: input.value.region });
    changed();
    const record = await store.getBackend(input.value.id);
    return c.json({ id: input.value.id, registered: true, created: !existed, backend: record && backendView(record, nowMs, heartbeatTtlMs) }, existed ? 200 : 201);
  });

  app.post("/api/v1/heartbeat/:id", guard, async (c) => {
    const id = pathId(c);
    if (id === null) return badId(c);
    const record = await store.getBackend(id);
    if (record === null || record.deleted) return notRegistered(c, id);
    if (record.lastHeartbeatMs === null) {
      return apiError(c, 409, "id", `id: backend "${id}" is static (added by the CLI or by hand); heartbeats apply only to backends registered through POST /api/v1/register`);
    }
    const nowMs = now();
    if (!(await store.touchHeartbeat(id, nowMs))) return notRegistered(c, id);
    return c.json({ id, status: "ok", expires_in_secs: Math.ceil(heartbeatTtlMs / 1000) });
  });

  app.get("/api/v1/backends", async (c) => {
    const nowMs = now();
    const backends = (await store.listBackends()).map((r) => backendView(r, nowMs, heartbeatTtlMs));
    return c.json({ backends, total: backends.length });
  });

  app.get("/api/v1/backends/:id", async (c) => {
    const id = pathId(c);
    if (id === null) return badId(c);
    const record = await store.getBackend(id);
    if (record === null || record.deleted) return notFound(c, id);
    return c.json(backendView(record, now(), heartbeatTtlMs));
  });

  app.delete("/api/v1/backends/:id", guard, async (c) => {
    const id = pathId(c);
    if (id === null) return badId(c);
    const record = await store.getBackend(id);
    if (record === null || record.deleted || !(await store.softDelete(id))) return notFound(c, id);
    log.info("backend deregistered", { id });
    changed();
    return c.json({ id, deregistered: true });
  });

  app.get("/api/v1/cluster", (c) => {
    if (deps.cluster === undefined) return apiError(c, 404, "route", "route: replication is off on this POP (EDGEPROXY_REPLICATION_ENABLED)");
    return c.json(deps.cluster());
  });

  for (const [path, methods] of ROUTES) {
    app.all(path, (c) => apiError(c, 405, "method", `method: ${c.req.method} is not allowed on ${c.req.path} (allowed: ${methods.join(", ")})`, { Allow: methods.join(", ") }));
  }
  app.notFound((c) => apiError(c, 404, "route", `route: no such endpoint ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    if (err instanceof BackendInputError) return apiError(c, 400, err.field, err.message);
    if (err instanceof StoreError) {
      log.error("API: routing store unavailable", { error: err.message });
      return apiError(c, 503, null, "the routing store is unavailable right now; retry later", { "Retry-After": "1" });
    }
    log.error("API: unexpected error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return c.json({ error: "internal error", field: null }, 500);
  });
  return app;
}

type Read<T> = { ok: true; value: T } | { ok: false; error: string };

async function readJson(c: Context): Promise<Read<unknown>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    return { ok: false, error: "body: could not be read" };
  }
  if (text.trim() === "") return { ok: false, error: "body: expected a JSON object, got an empty body" };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `body: not valid JSON (${(err as Error).message.slice(0, 120)})` };
  }
}

function pathId(c: Context): string | null {
  const id = c.req.param("id");
  return id !== undefined && backendId.safeParse(id).success ? id : null;
}

function badId(c: Context): Response {
  return apiError(c, 400, "id", `id: expected ${BACKEND_ID_FORM}`);
}

function notFound(c: Context, id: string): Response {
  return apiError(c, 404, "id", `id: no backend "${id}"`);
}

function notRegistered(c: Context, id: string): Response {
  return apiError(c, 404, "id", `id: backend "${id}" is not registered (never, deregistered or expired): register it again`);
}
