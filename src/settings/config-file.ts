// The config file (EDGEPROXY_CONFIG_FILE) as a component of the control plane: start loads it into the
// shared Settings (a bad file stops startup), and with EDGEPROXY_CONFIG_WATCH_ENABLED every tick
// re-reads it (config-watch.ts: a valid change is applied, a bad one logged and ignored).
import type { ConfigWatchConfig } from "../config.ts";
import type { Logger } from "../lifecycle/log.ts";
import type { Component } from "../core/component.ts";
import { SettingError } from "../core/setting-error.ts";
import { ConfigWatch } from "./config-watch.ts";
import type { ReadFile } from "./file-poll.ts";
import { SettingsFileError } from "./settings-file.ts";
import type { ReloadableSettings, Settings } from "./settings.ts";

export class ConfigFile implements Component {
  readonly name = "config-file";
  #watch: ConfigWatch | null = null;

  readonly path: string;
  readonly watch: ConfigWatchConfig;
  readonly base: ReloadableSettings;
  readonly settings: Settings;
  readonly readFile: ReadFile;
  readonly log: Logger;
  constructor(path: string, watch: ConfigWatchConfig, base: ReloadableSettings, settings: Settings, readFile: ReadFile, log: Logger) {
    this.path = path;
    this.watch = watch;
    this.base = base;
    this.settings = settings;
    this.readFile = readFile;
    this.log = log;
  }

  async start(): Promise<void> {
    try {
      this.#watch = await ConfigWatch.open(this.path, this.base, this.readFile, this.log, this.settings);
    } catch (err) {
      if (err instanceof SettingsFileError) throw new SettingError(err.variable, err.message);
      throw err;
    }
  }

  periodMs(): number {
    return this.watch.intervalMs;
  }

  async tick(): Promise<void> {
    if (this.watch.enabled) await this.#watch?.check();
  }

  stop(): void {}
}
