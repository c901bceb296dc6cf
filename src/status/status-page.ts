// The status page on the metrics listener: the document at /, its script and stylesheet, and the
// data they poll at /status.json. The assets are strings compiled into the program (no file reads),
// so the page works the same from the sources and from a single executable.
import type { StatusSources } from "./status-sources.ts";
import { statusReport } from "./status-report.ts";
import { ConnectionRate } from "./connection-rate.ts";
import { STATUS_PATHS } from "./status-paths.ts";
import { STATUS_HTML } from "./page/html.ts";
import { STATUS_CSS } from "./page/style.ts";
import { STATUS_JS } from "./page/script.ts";

/** Only this page's own script, style and data; no inline code, no framing, no other origin. */
export const STATUS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface StatusPage {
  readonly paths: ReadonlySet<string>;
  /** The response for one of `paths` (the method already checked). */
  respond(pathname: string): Response;
}

const COMMON = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" } as const;

function asset(body: string, contentType: string): () => Response {
  return () => new Response(body, { headers: { ...COMMON, "content-type": contentType, "cache-control": "no-cache", "content-security-policy": STATUS_CSP } });
}

export function createStatusPage(sources: StatusSources): StatusPage {
  const rate = new ConnectionRate();
  const routes = new Map<string, () => Response>([
    [STATUS_PATHS.page, asset(STATUS_HTML, "text/html; charset=utf-8")],
    [STATUS_PATHS.script, asset(STATUS_JS, "text/javascript; charset=utf-8")],
    [STATUS_PATHS.style, asset(STATUS_CSS, "text/css; charset=utf-8")],
    [STATUS_PATHS.json, () => Response.json(statusReport(sources, rate), { headers: { ...COMMON, "cache-control": "no-store" } })],
  ]);
  return {
    paths: new Set(routes.keys()),
    respond(pathname) {
      const route = routes.get(pathname);
      if (route === undefined) throw new Error(`${pathname} is not a status page path`);
      return route();
    },
  };
}
