// Loads the config file at start (a bad file stops startup) and, when watched, re-reads it every
// interval: a valid change replaces the settings ("config reloaded"), an invalid or unreadable file
// is logged once and the previous settings stay.
import type { Logger } from "../lifecycle/log.ts";
import { FilePoll, type ReadFile } from "./file-poll.ts";
import { parseSettingsFile, SettingsFileError } from "./settings-file.ts";
import { Settings, type ReloadableSettings } from "./settings.ts";

export class ConfigWatch {
  readonly #poll: FilePoll;
  #lastError: string | null = null;

  readonly path: string;
  private readonly base: ReloadableSettings;
  readonly settings: Settings;
  private readonly log: Logger;
  private constructor(
    path: string,
    base: ReloadableSettings,
    settings: Settings,
    readFile: ReadFile,
    log: Logger,
  ) {
    this.path = path;
    this.base = base;
    this.settings = settings;
    this.log = log;
    this.#poll = new FilePoll([path], readFile);
  }

  /** Settings from `path` over `base` (written into `settings`); throws SettingsFileError when it cannot be read or is invalid. */
  static async open(path: string, base: ReloadableSettings, readFile: ReadFile, log: Logger, settings = new Settings(base)): Promise<ConfigWatch> {
    const watch = new ConfigWatch(path, base, settings, readFile, log);
    let text;
    try {
      text = decode((await watch.#poll.poll())![0]!);
    } catch (err) {
      throw new SettingsFileError(path, null, `cannot read: ${(err as Error).message}`);
    }
    watch.settings.replace(parseSettingsFile(text, path, base));
    return watch;
  }

  /** One poll; true when new settings were applied. Never throws. */
  async check(): Promise<boolean> {
    let text: string;
    try {
      const changed = await this.#poll.poll();
      if (changed === null) return false;
      text = decode(changed[0]!);
    } catch (err) {
      this.#rejected(`config file ${this.path}: cannot read: ${(err as Error).message}`);
      return false;
    }
    let next: ReloadableSettings;
    try {
      next = parseSettingsFile(text, this.path, this.base);
    } catch (err) {
      if (!(err instanceof SettingsFileError)) throw err;
      this.#rejected(err.message);
      return false;
    }
    this.#lastError = null;
    try {
      this.settings.replace(next);
    } catch (err) {
      this.log.error("config reload: a component failed to apply the new settings", { file: this.path, error: (err as Error).message });
    }
    this.log.info("config reloaded", { file: this.path, ...summary(next) });
    return true;
  }

  #rejected(message: string): void {
    if (message === this.#lastError) return; // logged once per distinct problem, not every interval
    this.#lastError = message;
    this.log.error("config file rejected, keeping the previous settings", { file: this.path, error: message });
  }
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

function summary(s: ReloadableSettings): Record<string, unknown> {
  return { rate_limit: s.rateLimit, circuit_breaker: s.circuit, health_check: s.healthCheck, backends: Object.fromEntries(s.backends) };
}
