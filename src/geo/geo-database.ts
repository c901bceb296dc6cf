// The geo database (EDGEPROXY_GEOIP_PATH) as a component of the control plane: start reads and checks
// the MaxMind file (a missing or bad file stops startup); every data plane locates clients through it.
// Without the variable nobody has a location (no-geo.ts).
import type { ClientLocation } from "../core/types.ts";
import { regionTable } from "../core/regions.ts";
import type { Component } from "../core/component.ts";
import type { Logger } from "../core/logger.ts";
import { SettingError } from "../core/setting-error.ts";
import type { GeoResolver } from "../core/geo-resolver.ts";
import { createMaxmindResolver } from "./maxmind-resolver.ts";
import { noGeo } from "./no-geo.ts";

export class GeoDatabase implements Component, GeoResolver {
  readonly name = "geo";
  #resolver: GeoResolver = noGeo;

  readonly path: string | null;
  readonly regionOverrides: Readonly<Record<string, string>>;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  readonly log: Logger;
  constructor(path: string | null, regionOverrides: Readonly<Record<string, string>>, readFile: (path: string) => Promise<Uint8Array>, log: Logger) {
    this.path = path;
    this.regionOverrides = regionOverrides;
    this.readFile = readFile;
    this.log = log;
  }

  locate(ip: string): ClientLocation {
    return this.#resolver.locate(ip);
  }

  async start(): Promise<void> {
    const path = this.path;
    if (path === null) {
      this.log.warn("EDGEPROXY_GEOIP_PATH is not set: no geo tier, clients are routed by region of this POP, load and weight only");
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.readFile(path);
    } catch (err) {
      throw new SettingError("EDGEPROXY_GEOIP_PATH", `cannot read ${path}: ${(err as Error).message}`);
    }
    try {
      this.#resolver = createMaxmindResolver(bytes, regionTable(this.regionOverrides));
    } catch (err) {
      throw new SettingError("EDGEPROXY_GEOIP_PATH", `${path} is not a MaxMind GeoIP2/GeoLite2 database: ${(err as Error).message}`);
    }
  }

  stop(): void {}
}
