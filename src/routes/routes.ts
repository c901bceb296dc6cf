// The routing store feeding the route table, as one component of the control plane: start opens the
// store (libSQL file or PostgreSQL, routing-source.ts) and applies the first snapshot, every tick
// checks for a change, a settings reload re-applies the config file's backend overrides.
import type { Config } from "../config.ts";
import type { RouteTable } from "../core/route-table.ts";
import { withOverrides } from "../core/backend-overrides.ts";
import type { Component } from "../core/component.ts";
import type { Settings } from "../settings/settings.ts";
import type { RoutingStore } from "../store/routing-store.ts";
import { RouteSync } from "./route-sync.ts";
import { openRoutingSource, type RoutingHost, type RoutingSource } from "./routing-source.ts";

export class Routes implements Component {
  readonly name = "routes";
  #source: RoutingSource | null = null;
  #sync: RouteSync | null = null;
  #unsubscribe: (() => void) | null = null;

  readonly config: Config;
  readonly host: RoutingHost;
  readonly table: RouteTable;
  readonly settings: Settings;
  constructor(config: Config, host: RoutingHost, table: RouteTable, settings: Settings) {
    this.config = config;
    this.host = host;
    this.table = table;
    this.settings = settings;
  }

  /** The store once started (the API shares it when it is PostgreSQL). */
  get source(): RoutingSource | null {
    return this.#source;
  }

  /** The PostgreSQL store, for the API to share; null with a libSQL file (the API opens its own handle). */
  get sharedStore(): RoutingStore | null {
    return this.#source?.kind === "postgres" ? this.#source.store : null;
  }

  get sync(): RouteSync | null {
    return this.#sync;
  }

  /** Whether the last read of the store failed (routing runs on the last good snapshot). */
  get failing(): boolean {
    return this.#sync?.failing ?? false;
  }

  /** Applies store changes now instead of at the next tick. */
  refresh(): void {
    void this.#sync?.refresh();
  }

  async start(): Promise<void> {
    const source = openRoutingSource(this.config, this.host); // throws a SettingError
    const settings = this.settings;
    const sync = new RouteSync(source.store, this.table, this.host.log, {
      now: this.host.now, keeper: source.keeper, adjust: (snapshot) => withOverrides(snapshot, settings.current().backends),
    });
    await source.start(sync); // closes the store itself when it throws
    this.#source = source;
    this.#sync = sync;
    this.#unsubscribe = settings.onChange((next, previous) => { if (next.backends !== previous.backends) sync.reapply(); });
  }

  periodMs(): number {
    return this.#source?.reloadMs ?? this.config.dbReloadMs;
  }

  async tick(): Promise<void> {
    await this.#sync?.refresh();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#source?.close();
  }
}
