// TLS termination in two parts across the plane seam. The control plane holds one TlsCertificate: the
// certificate and key read from PEM files at start (a bad or missing file stops startup, naming its
// variable) and re-read every tick; a changed pair is handed to every TLS listener, a bad pair is
// logged and the previous certificate stays. Each data plane holds a TlsListenerPart that listens
// with the current pair and takes the new ones.
import type { TlsConfig } from "../config.ts";
import type { ClientSocket, TlsCredentials, TlsListener, Transport } from "../runtime/types.ts";
import { FilePoll, type ReadFile } from "../settings/file-poll.ts";
import type { Logger } from "../lifecycle/log.ts";
import { hostPort } from "../core/host-port.ts";
import type { Component } from "../core/component.ts";
import { SettingError } from "../core/setting-error.ts";

const CERT_PEM = /-----BEGIN CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** The pair's text, or the variable and what is wrong with its file. */
function credentialsFrom(config: TlsConfig, cert: Uint8Array, key: Uint8Array): TlsCredentials {
  const certText = new TextDecoder().decode(cert), keyText = new TextDecoder().decode(key);
  if (!CERT_PEM.test(certText)) throw new SettingError("EDGEPROXY_TLS_CERT", `${config.certPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keyText)) throw new SettingError("EDGEPROXY_TLS_KEY", `${config.keyPath} is encrypted; a key without a passphrase is needed`);
  if (!KEY_PEM.test(keyText)) throw new SettingError("EDGEPROXY_TLS_KEY", `${config.keyPath} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  return { cert: certText, key: keyText };
}

const rejectedPair = (config: TlsConfig, err: Error) =>
  new SettingError("EDGEPROXY_TLS_KEY", `${config.keyPath} and the certificate in ${config.certPath} cannot be used together: ${err.message}`);

/** Where a TLS listener gets its certificate: the control plane's TlsCertificate, or in a worker thread
 *  the pair the control plane sent (src/workers/). */
export interface CertificateSource {
  readonly credentials: TlsCredentials;
  /** The listener takes every new pair from now on; returns what detaches it. */
  attach(listener: TlsListener): () => void;
}

/** The certificate files (control plane): read at start, polled every tick (EDGEPROXY_CONFIG_WATCH_INTERVAL_SECS). */
export class TlsCertificate implements Component, CertificateSource {
  readonly name = "tls-certificate";
  readonly #poll: FilePoll;
  readonly #listeners = new Set<TlsListener>();
  #credentials: TlsCredentials | null = null;
  #lastError: string | null = null;

  readonly config: TlsConfig;
  readonly readFile: ReadFile;
  readonly log: Logger;
  readonly pollMs: number;
  constructor(config: TlsConfig, readFile: ReadFile, log: Logger, pollMs: number) {
    this.config = config;
    this.readFile = readFile;
    this.log = log;
    this.pollMs = pollMs;
    this.#poll = new FilePoll([config.certPath!, config.keyPath!], readFile);
  }

  /** The pair read at start or last swapped in. */
  get credentials(): TlsCredentials {
    if (this.#credentials === null) throw new Error("[edgeproxy] TLS certificate used before it was read");
    return this.#credentials;
  }

  async start(): Promise<void> {
    const { certPath, keyPath } = this.config;
    const read = async (variable: string, path: string) => {
      try {
        return await this.readFile(path);
      } catch (err) {
        throw new SettingError(variable, `cannot read ${path}: ${(err as Error).message}`);
      }
    };
    const cert = await read("EDGEPROXY_TLS_CERT", certPath!);
    const key = await read("EDGEPROXY_TLS_KEY", keyPath!);
    this.#credentials = credentialsFrom(this.config, cert, key);
    await this.#poll.poll().catch(() => {}); // the contents just read are the baseline
  }

  /** A listener that takes every new pair from now on; returns what detaches it. */
  attach(listener: TlsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  periodMs(): number {
    return this.pollMs;
  }

  /** Re-reads the files; hands a changed, usable pair to every listener. Never throws. */
  async tick(): Promise<void> {
    const { certPath, keyPath } = this.config;
    try {
      const changed = await this.#poll.poll();
      if (changed === null) return;
      const credentials = credentialsFrom(this.config, changed[0]!, changed[1]!);
      for (const listener of this.#listeners) await listener.setCredentials(credentials);
      this.#credentials = credentials;
      this.#lastError = null;
      this.log.info("TLS certificate reloaded", { cert: certPath, key: keyPath });
    } catch (err) {
      const e = err as Error & { code?: string };
      const message = e.code === "ETLSCREDENTIALS" ? rejectedPair(this.config, e).detail : e instanceof SettingError ? e.detail : e.message;
      if (message === this.#lastError) return; // once per distinct problem (a cert and key copied one after the other pass through one)
      this.#lastError = message;
      this.log.error("TLS certificate files rejected, keeping the previous certificate", { cert: certPath, key: keyPath, error: message });
    }
  }

  stop(): void {}
}

/** The TLS listener of one data plane (EDGEPROXY_TLS_LISTEN_ADDR), serving the control plane's certificate. */
export class TlsListenerPart implements Component {
  readonly name = "tls-listener";
  #listener: TlsListener | null = null;
  #detach: (() => void) | null = null;

  readonly config: TlsConfig;
  readonly certificate: CertificateSource;
  readonly transport: Transport;
  readonly onClient: (client: ClientSocket) => void;
  /** SO_REUSEPORT (one TLS listener per worker thread on the same address). */
  readonly reusePort: boolean;
  constructor(config: TlsConfig, certificate: CertificateSource, transport: Transport, onClient: (client: ClientSocket) => void, reusePort = false) {
    this.reusePort = reusePort;
    this.config = config;
    this.certificate = certificate;
    this.transport = transport;
    this.onClient = onClient;
  }

  get listener(): TlsListener | null {
    return this.#listener;
  }

  async start(): Promise<void> {
    const config = this.config;
    try {
      this.#listener = await this.transport.listenTls({ ...config.listen, reusePort: this.reusePort, credentials: this.certificate.credentials, handshakeTimeoutMs: config.handshakeTimeoutMs }, this.onClient);
    } catch (err) {
      if ((err as { code?: string }).code === "ETLSCREDENTIALS") throw rejectedPair(config, err as Error);
      const { host, port } = config.listen;
      throw new SettingError("EDGEPROXY_TLS_LISTEN_ADDR", `cannot listen on ${hostPort(host, port)}: ${(err as Error).message}`);
    }
    this.#detach = this.certificate.attach(this.#listener);
  }

  async stop(): Promise<void> {
    this.#detach?.();
    await this.#listener?.close();
  }
}
