// One HTTP/1.1 GET on a fresh TCP connection, for the active health checks: resolves with the status
// code of the response and closes the connection; reads no body, follows no redirect, and never goes
// through a proxy. (fetch on Bun and Deno sends requests through HTTP_PROXY/http_proxy when they are
// set, so a health check would test that proxy instead of the backend; fetch also keeps connections
// alive, so a check could pass on an old connection to a backend that accepts no new ones.)
// node:net works on Node, Bun and Deno; one small exchange per backend and interval, off the data path.
import net from "node:net";
import type { HostPort } from "./types.ts";
import { hostPort } from "../core/host-port.ts";

/** Longest status line read before the answer is declared not HTTP. */
const MAX_STATUS_LINE = 8192;

export function httpGetStatus(target: HostPort, path: string, signal: AbortSignal, userAgent: string): Promise<number> {
  return exchange(target, path, signal, userAgent, false).then((r) => r.status);
}

/** The same GET, also reading the start of the body (up to MAX_BODY bytes, until the server closes):
 *  for `edgeproxy health`, which shows what the proxy answered. */
export function httpGet(target: HostPort, path: string, signal: AbortSignal, userAgent: string): Promise<{ readonly status: number; readonly body: string }> {
  return exchange(target, path, signal, userAgent, true);
}

const MAX_BODY = 4096;

function exchange(target: HostPort, path: string, signal: AbortSignal, userAgent: string, withBody: boolean): Promise<{ readonly status: number; readonly body: string }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("aborted"));
    const host = hostPort(target.host, target.port);
    const socket = net.connect({ host: target.host, port: target.port });
    let head = "";
    let settled = false;
    let status = 0;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      const end = head.indexOf("\r\n\r\n");
      if (err === null) resolve({ status, body: end < 0 ? "" : head.slice(end + 4, end + 4 + MAX_BODY) });
      else reject(err);
    };
    const onAbort = () => finish(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("connect", () => {
      // HTTP/1.0 when the body is read: no chunked encoding comes back, and the server closes after it.
      socket.write(`GET ${path} HTTP/1.${withBody ? 0 : 1}\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (status !== 0) {
        if (head.length > MAX_STATUS_LINE + MAX_BODY) finish(null);
        return;
      }
      const eol = head.indexOf("\n");
      if (eol < 0) {
        if (head.length > MAX_STATUS_LINE) finish(new Error("not an HTTP response (no status line)"));
        return;
      }
      const line = head.slice(0, eol).replace(/\r$/, "");
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(line);
      if (m === null) return finish(new Error(`not an HTTP response: ${JSON.stringify(line.slice(0, 60))}`));
      status = Number(m[1]);
      if (!withBody) finish(null);
    });
    socket.on("error", (err) => finish(status !== 0 ? null : err));
    socket.on("close", () => finish(status !== 0 ? null : new Error("connection closed before an HTTP status line")));
  });
}
