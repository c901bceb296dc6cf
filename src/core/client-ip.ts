// Affinity and geo key a client by its IP; "::ffff:1.2.3.4" and "1.2.3.4" are the same client.

const MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

export function normalizeClientIp(ip: string): string {
  const m = MAPPED.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}
