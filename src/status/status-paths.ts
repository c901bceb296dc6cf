// Paths of the status page on the metrics listener; EDGEPROXY_METRICS_PATH may not take any of them.
export const STATUS_PATHS = {
  page: "/",
  json: "/status.json",
  script: "/status.js",
  style: "/status.css",
} as const;

export const RESERVED_STATUS_PATHS: readonly string[] = Object.values(STATUS_PATHS);
