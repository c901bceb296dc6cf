// `Authorization: Bearer <EDGEPROXY_API_TOKEN>` on mutating endpoints. The comparison takes the same
// time wherever the first difference is, so the token cannot be guessed byte by byte from timings.
import type { MiddlewareHandler } from "hono";
import { apiError } from "./api-error.ts";

const encoder = new TextEncoder();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i]!;
  return diff === 0;
}

export function bearerGuard(token: string): MiddlewareHandler {
  const expected = encoder.encode(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m === null || !sameBytes(encoder.encode(m[1]!), expected)) {
      const error = m === null ? "authorization: expected the header \"Authorization: Bearer <EDGEPROXY_API_TOKEN>\"" : "authorization: wrong token";
      return apiError(c, 401, "authorization", error, { "WWW-Authenticate": 'Bearer realm="edgeproxy"' });
    }
    await next();
  };
}
