// host:port as written in logs, errors, URLs and Host headers: an IPv6 address goes in brackets
// ("[::1]:8080"), so the port cannot be read as one more group of the address.

/** IPv6 (any host with a colon) in brackets, IPv4 and host names as they are. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
