// The TLS listener of a running proxy: certificate and key read from PEM files, checked at start
// (a bad or missing file stops startup, naming its variable), and re-read every interval: changed
// files that form a usable pair are swapped in for new connections; a bad pair is logged and the
// previous certificate stays.
import type { TlsConfig } from "../config.ts";
import type { ClientSocket, TlsCredentials, TlsListener, Transport } from "../runtime/types.ts";
import { FilePoll, type ReadFile } from "../settings/file-poll.ts";
import type { Logger } from "../lifecycle/log.ts";
import { hostPort } from "../core/host-port.ts";

/** A start failure, with the variable the operator has to fix. */
export class TlsStartError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.variable = variable;
    this.name = "TlsStartError";
  }
}

const CERT_PEM = /-----BEGIN CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** The pair's text, or the variable and what is wrong with its file. */
function credentialsFrom(config: TlsConfig, cert: Uint8Array, key: Uint8Array): TlsCredentials {
  const certText = new TextDecoder().decode(cert), keyText = new TextDecoder().decode(key);
  if (!CERT_PEM.test(certText)) throw new TlsStartError("EDGEPROXY_TLS_CERT", `${config.certPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyText)) throw new TlsStartError("EDGEPROXY_TLS_KEY", `${config.keyPath} is encrypted; a key without a passphrase is needed`);
  if (!KEY_PEM.test(keyText)) throw new TlsStartError("EDGEPROXY_TLS_KEY", `${config.keyPath} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  return { cert: certText, key: keyText };
}

const rejectedPair = (config: TlsConfig, err: Error) =>
  new TlsStartError("EDGEPROXY_TLS_KEY", `${config.keyPath} and the certificate in ${config.certPath} cannot be used together: ${err.message}`);

export interface TlsTermination {
  readonly listener: TlsListener;
  /** Re-reads the files; swaps in a changed, usable pair. Never throws. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export async function startTlsTermination(
  config: TlsConfig,
  deps: { transport: Transport; onClient: (client: ClientSocket) => void; readFile: ReadFile; log: Logger },
): Promise<TlsTermination> {
  const certPath = config.certPath!, keyPath = config.keyPath!;
  const read = async (variable: string, path: string) => {
    try {
      return await deps.readFile(path);
    } catch (err) {
      throw new TlsStartError(variable, `cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const cert = await read("EDGEPROXY_TLS_CERT", certPath);
  const key = await read("EDGEPROXY_TLS_KEY", keyPath);
  const credentials = credentialsFrom(config, cert, key);

  let listener: TlsListener;
  try {
    listener = await deps.transport.listenTls({ ...config.listen, credentials, handshakeTimeoutMs: config.handshakeTimeoutMs }, deps.onClient);
  } catch (err) {
    if ((err as { code?: string }).code === "ETLSCREDENTIALS") throw rejectedPair(config, err as Error);
    const { host, port } = config.listen;
    throw new TlsStartError("EDGEPROXY_TLS_LISTEN_ADDR", `cannot listen on ${hostPort(host, port)}: ${(err as Error).message}`);
  }

  const poll = new FilePoll([certPath, keyPath], deps.readFile);
  await poll.poll().catch(() => {}); // the contents just served are the baseline
  let lastError: string | null = null;
  const rejected = (message: string) => {
    if (message === lastError) return; // once per distinct problem (a cert and key copied one after the other pass through one)
    lastError = message;
    deps.log.error("TLS certificate files rejected, keeping the previous certificate", { cert: certPath, key: keyPath, error: message });
  };

  return {
    listener,
    async check() {
      try {
        const changed = await poll.poll();
        if (changed === null) return;
        await listener.setCredentials(credentialsFrom(config, changed[0]!, changed[1]!));
        lastError = null;
        deps.log.info("TLS certificate reloaded", { cert: certPath, key: keyPath });
      } catch (err) {
        const e = err as Error & { code?: string };
        rejected(e.code === "ETLSCREDENTIALS" ? rejectedPair(config, e).message : e.message);
      }
    },
    close: () => listener.close(),
  };
}
