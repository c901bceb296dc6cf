// Environment → validated, frozen Config. Every error names the variable and the accepted form;
// an invalid value never falls back to the default.
import type { RateLimitSettings } from "./core/token-bucket.ts";
import type { CircuitSettings } from "./core/circuit.ts";
import { RESERVED_STATUS_PATHS } from "./status/status-paths.ts";
import type { ProxyProtocolConfig, ProxyVersion } from "./core/proxy-protocol/header.ts";
export type { ProxyProtocolConfig } from "./core/proxy-protocol/header.ts";
import { CidrSet } from "./core/proxy-protocol/cidr.ts";
import { CIRCUIT, HEALTH_CHECK, RATE_LIMIT, sectionFromEnv } from "./settings/reloadable-schema.ts";
import { flagKind } from "./settings/setting-kinds.ts";
import { hostPort } from "./core/host-port.ts";
import { SettingError as ConfigError } from "./core/setting-error.ts";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly listen: ListenAddress;
  readonly region: string;
  readonly dbPath: string;
  readonly dbReloadMs: number;
  readonly bindingTtlMs: number;
  readonly bindingGcIntervalMs: number;
  readonly bindingMax: number;
  readonly geoipPath: string | null;
  /** Operator overrides of the country → region table. */
  readonly regionOverrides: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly connectAttempts: number;
  readonly idleTimeoutMs: number;
  readonly maxBackends: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** Auto-discovery API (`EDGEPROXY_API_*`); served only when enabled. */
  readonly apiEnabled: boolean;
  readonly apiListen: ListenAddress;
  readonly heartbeatTtlMs: number;
  /** Bearer token required on mutating API endpoints; null = none. */
  readonly apiToken: string | null;
  /** Allows a token-less API on a non-loopback address. */
  readonly apiInsecure: boolean;
  /** Prometheus exposition (`EDGEPROXY_METRICS_*`); served only when enabled. */
  readonly metrics: MetricsConfig;
  /** How long in-flight connections may finish after SIGTERM/SIGINT before they are closed. */
  readonly shutdownTimeoutMs: number;
  /** Per-client-IP token buckets (`EDGEPROXY_RATE_LIMIT_*`). */
  readonly rateLimit: RateLimitConfig;
  /** Per-backend circuit breakers (`EDGEPROXY_CIRCUIT_*`). */
  readonly circuit: CircuitSettings;
  readonly health: HealthConfig;
  readonly pool: PoolConfig;
  /** PostgreSQL routing store (`EDGEPROXY_POSTGRES_*`); replaces the libSQL file when enabled. */
  readonly postgres: PostgresConfig;
  /** TLS termination (`EDGEPROXY_TLS_*`): a second listener that routes exactly like the TCP one. */
  readonly tls: TlsConfig;
  /** Reloadable settings file (`EDGEPROXY_CONFIG_FILE`) and its watch (`EDGEPROXY_CONFIG_WATCH_*`). */
  readonly configWatch: ConfigWatchConfig;
  /** routing.db replicated across POPs over NATS JetStream (`EDGEPROXY_REPLICATION_*`, `EDGEPROXY_POP_ID`). */
  readonly replication: ReplicationConfig;
  /** PROXY protocol (`EDGEPROXY_PROXY_PROTOCOL*`): sent to backends, accepted from trusted peers. */
  readonly proxyProtocol: ProxyProtocolConfig;
  /** Data-plane worker threads (`EDGEPROXY_WORKERS`): "auto" = the CPUs available to the process. */
  readonly workers: number | "auto";
}

export interface ReplicationConfig {
  readonly enabled: boolean;
  /** NATS servers as host:port (the client tries them in order). */
  readonly servers: readonly string[];
  readonly user: string | null;
  /** Never logged. */
  readonly password: string | null;
  /** This POP's id in the cluster (unique per POP). */
  readonly popId: string;
  /** Allows a credential-less link to a non-loopback NATS server. */
  readonly insecure: boolean;
  /** JetStream replicas of the buckets (3 on a 3-node cluster; 1 on a single server). */
  readonly replicas: number;
  /** KV bucket of the backends; POP presence lives in `<bucket>_pops`. */
  readonly bucket: string;
  /** How long a deleted backend's tombstone stays in the bucket before it is purged (a POP away longer re-reads the keys). */
  readonly tombstoneTtlMs: number;
}

export interface TlsConfig {
  readonly enabled: boolean;
  readonly listen: ListenAddress;
  /** PEM certificate chain and key files; both set whenever enabled. */
  readonly certPath: string | null;
  readonly keyPath: string | null;
  readonly handshakeTimeoutMs: number;
}

export interface ConfigWatchConfig {
  /** TOML file with the reloadable settings; null = env defaults only. Read at start when set. */
  readonly file: string | null;
  /** Poll the file for changes. */
  readonly enabled: boolean;
  /** Poll interval of the settings file, and of the TLS certificate files (always watched). */
  readonly intervalMs: number;
}

export interface MetricsConfig {
  readonly enabled: boolean;
  readonly listen: ListenAddress;
  /** Path of the exposition; `/health` is served beside it. */
  readonly path: string;
}

export interface RateLimitConfig extends RateLimitSettings {
  /** Client buckets kept (the WASM table's size, fixed at start). */
  readonly maxClients: number;
}

/** Active health checks (`EDGEPROXY_HEALTH_*`); read through a getter every round. */
export interface HealthConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly type: "tcp" | "http";
  /** Request path of an http check (a 2xx answer is healthy). */
  readonly path: string;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Backend connection pool (`EDGEPROXY_POOL_*`): pre-connected sockets, each handed to one client. */
export interface PoolConfig {
  readonly enabled: boolean;
  readonly maxPerBackend: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly connectTimeoutMs: number;
}

export interface PostgresConfig {
  readonly enabled: boolean;
  /** postgres://user:password@host:port/database[?options=-c search_path=…]; null when unset. */
  readonly url: string | null;
  readonly maxConnections: number;
  readonly minConnections: number;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly reloadMs: number;
  /** Local copy of the last good snapshot, so a POP restarted during an outage still routes. */
  readonly snapshotPath: string;
}

/** An invalid value: the one error type naming the setting (src/setting-error.ts). */
export { ConfigError };

type Env = Readonly<Record<string, string | undefined>>;

/** Reads one variable with a parser; unset or empty → the default. */
function read<T>(env: Env, name: string, fallback: T, parse: (raw: string, name: string) => T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  return parse(raw.trim(), name);
}

export function integer(min: number, max: number) {
  return (raw: string, name: string): number => {
    const n = /^[+]?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const form = min === 1 ? `a positive integer (at most ${max})` : `an integer from ${min} to ${max}`;
      throw new ConfigError(name, `expected ${form}, got "${raw}"`);
    }
    return n;
  };
}

export function listenAddress(raw: string, name: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(name, `expected host:port or [ipv6]:port with a port 0-65535, got "${raw}"`);
  }
  return { host: m[1] ?? m[2]!, port };
}

function regionCode(raw: string, name: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/i.test(raw)) throw new ConfigError(name, `expected a region code like "sa" (letters, digits, '-'), got "${raw}"`);
  return raw.toLowerCase();
}

function regionOverrides(raw: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{2})=([A-Za-z][A-Za-z0-9-]{0,31})$/.exec(pair);
    if (!m) throw new ConfigError(name, `expected COUNTRY=region pairs separated by commas (e.g. "MX=sa,ZA=eu"), got "${pair}"`);
    out[m[1]!.toUpperCase()] = m[2]!.toLowerCase();
  }
  return out;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string, name: string): T => {
    const v = raw.toLowerCase() as T;
    if (!values.includes(v)) throw new ConfigError(name, `expected one of ${values.join(", ")}, got "${raw}"`);
    return v;
  };
}

export function flag(raw: string, name: string): boolean {
  const v = flagKind.fromText(raw);
  if (v === undefined) throw new ConfigError(name, `expected ${flagKind.textForm ?? flagKind.form}, got "${raw}"`);
  return v;
}

/** The reloadable settings' variables (settings/reloadable-schema.ts also reads their file keys). */
const failSetting = (variable: string, form: string, raw: string): never => {
  throw new ConfigError(variable, `expected ${form}, got "${raw}"`);
};

/** 127.0.0.0/8, ::1 and localhost: reachable only from this host. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1" || /^(?:0{1,4}:){7}0{0,3}1$/.test(host) || host.toLowerCase() === "localhost";
}

function apiToken(raw: string, name: string): string {
  if (!/^[\x21-\x7e]{16,4096}$/.test(raw)) throw new ConfigError(name, "expected at least 16 printable ASCII characters without spaces");
  return raw;
}

/** A token-less API reachable from the network is refused unless the operator says so explicitly. */
function checkApiExposure(config: Config): void {
  if (!config.apiEnabled || config.apiToken !== null || config.apiInsecure || isLoopbackHost(config.apiListen.host)) return;
  const addr = hostPort(config.apiListen.host, config.apiListen.port);
  throw new ConfigError(
    "EDGEPROXY_API_LISTEN_ADDR",
    `the API would listen on ${addr}, which is not a loopback address, without EDGEPROXY_API_TOKEN: ` +
      `set EDGEPROXY_API_TOKEN to require a bearer token on every change, or set EDGEPROXY_API_INSECURE=true to serve it without one`,
  );
}

const text = (raw: string): string => raw;

function urlPath(raw: string, name: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@\/-]*$/.test(raw) || raw === "/health" || RESERVED_STATUS_PATHS.includes(raw)) {
    throw new ConfigError(name, `expected a URL path starting with "/" (not /health or the status page's ${RESERVED_STATUS_PATHS.join(", ")}, which are served beside it), got "${raw}"`);
  }
  return raw;
}

const DAY_SECS = 86_400;

/** A postgres:// or postgresql:// URL; the message never repeats it (it may hold a password). */
function postgresUrl(raw: string, name: string): string {
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "postgres:" && url.protocol !== "postgresql:") || url.hostname === "") {
    throw new ConfigError(name, "expected a URL like postgres://user:password@host:5432/database (value not shown: it may hold a password)");
  }
  return raw;
}

/** The `EDGEPROXY_POSTGRES_*` variables; also read by the CLI, which needs no other setting. */
export function loadPostgresConfig(env: Env): PostgresConfig {
  const secs = (name: string, fallback: number) => read(env, name, fallback, integer(1, DAY_SECS)) * 1000;
  const enabled = read(env, "EDGEPROXY_POSTGRES_ENABLED", false, flag);
  const url = read<string | null>(env, "EDGEPROXY_POSTGRES_URL", null, postgresUrl);
  if (enabled && url === null) throw new ConfigError("EDGEPROXY_POSTGRES_URL", "required when EDGEPROXY_POSTGRES_ENABLED=true (postgres://user:password@host:5432/database)");
  const maxConnections = read(env, "EDGEPROXY_POSTGRES_MAX_CONNECTIONS", 10, integer(1, 1000));
  const minConnections = read(env, "EDGEPROXY_POSTGRES_MIN_CONNECTIONS", 2, integer(0, 1000));
  if (minConnections > maxConnections) {
    throw new ConfigError("EDGEPROXY_POSTGRES_MIN_CONNECTIONS", `expected at most EDGEPROXY_POSTGRES_MAX_CONNECTIONS (${maxConnections}), got "${minConnections}"`);
  }
  const dbPath = read(env, "EDGEPROXY_DB_PATH", "routing.db", text);
  return Object.freeze({
    enabled,
    url,
    maxConnections,
    minConnections,
    connectTimeoutMs: secs("EDGEPROXY_POSTGRES_CONNECT_TIMEOUT_SECS", 5),
    queryTimeoutMs: secs("EDGEPROXY_POSTGRES_QUERY_TIMEOUT_SECS", 10),
    reloadMs: secs("EDGEPROXY_POSTGRES_RELOAD_SECS", 5),
    snapshotPath: read(env, "EDGEPROXY_POSTGRES_SNAPSHOT_PATH", `${dbPath}.pg-snapshot.json`, text),
  });
}

export function loadConfig(env: Env, hostName?: string): Config {
  const secs = (name: string, fallback: number, max = 365 * DAY_SECS) => read(env, name, fallback, integer(1, max)) * 1000;
  const config: Config = Object.freeze({
    listen: read(env, "EDGEPROXY_LISTEN_ADDR", { host: "0.0.0.0", port: 8080 }, listenAddress),
    region: read(env, "EDGEPROXY_REGION", "sa", regionCode),
    dbPath: read(env, "EDGEPROXY_DB_PATH", "routing.db", text),
    dbReloadMs: secs("EDGEPROXY_DB_RELOAD_SECS", 5),
    bindingTtlMs: secs("EDGEPROXY_BINDING_TTL_SECS", 600),
    bindingGcIntervalMs: secs("EDGEPROXY_BINDING_GC_INTERVAL_SECS", 60),
    bindingMax: read(env, "EDGEPROXY_BINDING_MAX", 1_000_000, integer(1, 100_000_000)),
    geoipPath: read<string | null>(env, "EDGEPROXY_GEOIP_PATH", null, text),
    regionOverrides: Object.freeze(read(env, "EDGEPROXY_REGION_MAP", {}, regionOverrides)),
    connectTimeoutMs: read(env, "EDGEPROXY_CONNECT_TIMEOUT_MS", 3000, integer(1, 600_000)),
    connectAttempts: read(env, "EDGEPROXY_CONNECT_ATTEMPTS", 3, integer(1, 16)),
    idleTimeoutMs: read(env, "EDGEPROXY_IDLE_TIMEOUT_SECS", 600, integer(0, 30 * DAY_SECS)) * 1000,
    maxBackends: read(env, "EDGEPROXY_MAX_BACKENDS", 65_536, integer(1, 1_048_576)),
    logLevel: read(env, "EDGEPROXY_LOG_LEVEL", "info", oneOf(["debug", "info", "warn", "error"] as const)),
    apiEnabled: read(env, "EDGEPROXY_API_ENABLED", false, flag),
    apiListen: read(env, "EDGEPROXY_API_LISTEN_ADDR", { host: "0.0.0.0", port: 8081 }, listenAddress),
    heartbeatTtlMs: secs("EDGEPROXY_HEARTBEAT_TTL_SECS", 60),
    apiToken: read<string | null>(env, "EDGEPROXY_API_TOKEN", null, apiToken),
    apiInsecure: read(env, "EDGEPROXY_API_INSECURE", false, flag),
    metrics: Object.freeze({
      enabled: read(env, "EDGEPROXY_METRICS_ENABLED", false, flag),
      listen: read(env, "EDGEPROXY_METRICS_LISTEN_ADDR", { host: "0.0.0.0", port: 9090 }, listenAddress),
      path: read(env, "EDGEPROXY_METRICS_PATH", "/metrics", urlPath),
    }),
    shutdownTimeoutMs: read(env, "EDGEPROXY_SHUTDOWN_TIMEOUT_SECS", 30, integer(0, DAY_SECS)) * 1000,
    rateLimit: Object.freeze({
      ...sectionFromEnv(RATE_LIMIT, env, failSetting),
      maxClients: read(env, "EDGEPROXY_RATE_LIMIT_MAX_CLIENTS", 65_536, integer(16, 16_777_216)),
    }),
    circuit: sectionFromEnv(CIRCUIT, env, failSetting),
    health: sectionFromEnv(HEALTH_CHECK, env, failSetting),
    pool: Object.freeze({
      enabled: read(env, "EDGEPROXY_POOL_ENABLED", false, flag),
      maxPerBackend: read(env, "EDGEPROXY_POOL_MAX_PER_BACKEND", 10, integer(1, 10_000)),
      idleTimeoutMs: secs("EDGEPROXY_POOL_IDLE_TIMEOUT_SECS", 60, DAY_SECS),
      maxLifetimeMs: secs("EDGEPROXY_POOL_MAX_LIFETIME_SECS", 300, DAY_SECS),
      connectTimeoutMs: secs("EDGEPROXY_POOL_CONNECT_TIMEOUT_SECS", 5, 600),
    }),
    postgres: loadPostgresConfig(env),
    tls: tlsConfig(env),
    configWatch: configWatchConfig(env),
    proxyProtocol: proxyProtocolConfig(env),
    workers: read<number | "auto">(env, "EDGEPROXY_WORKERS", "auto", workerCount),
    replication: loadReplicationConfig(env, hostName),
  });
  checkApiExposure(config);
  if (config.replication.enabled && config.postgres.enabled) {
    throw new ConfigError(
      "EDGEPROXY_REPLICATION_ENABLED",
      "replication copies the local routing.db between POPs, but EDGEPROXY_POSTGRES_ENABLED=true makes every POP read one shared PostgreSQL store already: enable one or the other",
    );
  }
  return config;
}

/** nats://host:port, host:port, [ipv6]:port; credentials in the URL are refused (they would be logged). */
function natsServers(raw: string, name: string): string[] {
  const out: string[] = [];
  for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:nats:\/\/)?(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
    if (m === null || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      const hint = item.includes("@") ? " (put the user and password in EDGEPROXY_REPLICATION_NATS_USER / _NATS_PASSWORD, not in the URL; value not shown)" : `, got "${item}"`;
      throw new ConfigError(name, `expected a comma-separated list of nats://host:port${hint}`);
    }
    out.push(m[1] !== undefined ? `[${m[1]}]:${m[3]}` : `${m[2]}:${m[3]}`);
  }
  if (out.length === 0) throw new ConfigError(name, "expected a comma-separated list of nats://host:port");
  return out;
}

function natsHost(server: string): string {
  return server.startsWith("[") ? server.slice(1, server.indexOf("]")) : server.slice(0, server.lastIndexOf(":"));
}

function popId(raw: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) throw new ConfigError(name, `expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got "${raw}"`);
  return raw;
}

function bucketName(raw: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(raw)) throw new ConfigError(name, `expected 1-48 letters, digits, '_' or '-', got "${raw}"`);
  return raw;
}

/** The `EDGEPROXY_REPLICATION_*` variables and `EDGEPROXY_POP_ID`; also read by `edgeproxy cluster status`. */
export function loadReplicationConfig(env: Env, hostName = "edgeproxy"): ReplicationConfig {
  const enabled = read(env, "EDGEPROXY_REPLICATION_ENABLED", false, flag);
  const servers = read<string[]>(env, "EDGEPROXY_REPLICATION_NATS_URL", [], natsServers);
  if (enabled && servers.length === 0) throw new ConfigError("EDGEPROXY_REPLICATION_NATS_URL", "required when EDGEPROXY_REPLICATION_ENABLED=true (nats://host:4222, comma-separated for a cluster)");
  const user = read<string | null>(env, "EDGEPROXY_REPLICATION_NATS_USER", null, text);
  // Never echoed: it is a password.
  const password = read<string | null>(env, "EDGEPROXY_REPLICATION_NATS_PASSWORD", null, text);
  if (user !== null && password === null) throw new ConfigError("EDGEPROXY_REPLICATION_NATS_PASSWORD", "required when EDGEPROXY_REPLICATION_NATS_USER is set");
  if (password !== null && user === null) throw new ConfigError("EDGEPROXY_REPLICATION_NATS_USER", "required when EDGEPROXY_REPLICATION_NATS_PASSWORD is set");
  const insecure = read(env, "EDGEPROXY_REPLICATION_INSECURE", false, flag);
  const defaultPop = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(hostName) ? hostName : "edgeproxy";
  const config: ReplicationConfig = Object.freeze({
    enabled,
    servers: Object.freeze(servers),
    user,
    password,
    popId: read(env, "EDGEPROXY_POP_ID", defaultPop, popId),
    insecure,
    replicas: read(env, "EDGEPROXY_REPLICATION_REPLICAS", 3, integer(1, 5)),
    bucket: read(env, "EDGEPROXY_REPLICATION_BUCKET", "edgeproxy_routes", bucketName),
    tombstoneTtlMs: read(env, "EDGEPROXY_REPLICATION_TOMBSTONE_TTL_SECS", 7 * DAY_SECS, integer(1, 365 * DAY_SECS)) * 1000,
  });
  const exposed = servers.find((s) => !isLoopbackHost(natsHost(s)));
  if (enabled && user === null && !insecure && exposed !== undefined) {
    throw new ConfigError(
      "EDGEPROXY_REPLICATION_NATS_USER",
      `the NATS server ${exposed} is not a loopback address and no credentials are set: set EDGEPROXY_REPLICATION_NATS_USER and EDGEPROXY_REPLICATION_NATS_PASSWORD, or EDGEPROXY_REPLICATION_INSECURE=true to connect without them`,
    );
  }
  return config;
}

function tlsConfig(env: Env): TlsConfig {
  const enabled = read(env, "EDGEPROXY_TLS_ENABLED", false, flag);
  const file = (name: string): string | null => {
    const path = read<string | null>(env, name, null, text);
    if (enabled && path === null) throw new ConfigError(name, "required when EDGEPROXY_TLS_ENABLED=true (path of a PEM file)");
    return path;
  };
  return Object.freeze({
    enabled,
    listen: read(env, "EDGEPROXY_TLS_LISTEN_ADDR", { host: "0.0.0.0", port: 8443 }, listenAddress),
    certPath: file("EDGEPROXY_TLS_CERT"),
    keyPath: file("EDGEPROXY_TLS_KEY"),
    handshakeTimeoutMs: read(env, "EDGEPROXY_TLS_HANDSHAKE_TIMEOUT_SECS", 10, integer(1, 3600)) * 1000,
  });
}

function workerCount(raw: string, name: string): number | "auto" {
  if (raw.toLowerCase() === "auto") return "auto";
  const n = /^[+]?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1023) throw new ConfigError(name, `expected "auto" or a count of worker threads from 1 to 1023, got "${raw}"`);
  return n;
}

function configWatchConfig(env: Env): ConfigWatchConfig {
  const enabled = read(env, "EDGEPROXY_CONFIG_WATCH_ENABLED", false, flag);
  const file = read<string | null>(env, "EDGEPROXY_CONFIG_FILE", null, text);
  if (enabled && file === null) throw new ConfigError("EDGEPROXY_CONFIG_FILE", "required when EDGEPROXY_CONFIG_WATCH_ENABLED=true (path of a TOML file)");
  return Object.freeze({ file, enabled, intervalMs: read(env, "EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS", 5, integer(1, DAY_SECS)) * 1000 });
}

function cidrList(raw: string, name: string): CidrSet | null {
  let set: CidrSet;
  try {
    set = CidrSet.parse(raw);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
  return set.size === 0 ? null : set;
}

function proxyProtocolConfig(env: Env): ProxyProtocolConfig {
  return Object.freeze({
    send: read(env, "EDGEPROXY_PROXY_PROTOCOL", "off", oneOf(["off", "v1", "v2"] as const)),
    trusted: read<CidrSet | null>(env, "EDGEPROXY_PROXY_PROTOCOL_TRUSTED", null, cidrList),
    timeoutMs: read(env, "EDGEPROXY_PROXY_PROTOCOL_TIMEOUT_MS", 3000, integer(1, 600_000)),
  });
}
