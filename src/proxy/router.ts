// The routing decision for one connection attempt: affinity first, then geo + the selection engine.
// Owns the reservation: every slot it returns has been acquire()d and must be release()d.
import type { Backend } from "../core/types.ts";
import type { SelectionEngine } from "../core/selection.ts";
import type { AffinityBindings } from "../core/affinity.ts";
import type { RouteLookup } from "../core/route-table.ts";
import { countryCode } from "../core/regions.ts";
import { normalizeClientIp } from "../core/client-ip.ts";
import type { GeoResolver } from "../core/geo-resolver.ts";
import { Admission, noCircuits, type CircuitGate } from "./circuit-guard.ts";

/** @deprecated the geo port is GeoResolver (core/geo-resolver.ts); this alias goes once edge-proxy.ts imports that. */
export type GeoLocator = GeoResolver;

export interface Route {
  readonly slot: number;
  readonly backend: Backend;
  /** Chosen through an existing affinity binding. */
  readonly sticky: boolean;
  /** Admitted as a probe of a half-open circuit. */
  readonly probe: boolean;
}

/** One client's sequence of attempts (first choice, then failover). */
export interface RouteAttempts {
  readonly client: string;
  next(nowMs: number): Route | null;
  /** The last route failed to connect: release it and exclude it from the next choice. */
  failed(route: Route, nowMs?: number): void;
  /** The route connected: bind the client to it. */
  connected(route: Route, nowMs: number): void;
  /** The route connected but the client had left: release it (the backend answered all the same). */
  abandoned(route: Route): void;
}

export class Router {
  #attemptSeq = 0;
  #seed = 0x9e3779b9;

  readonly engine: SelectionEngine;
  readonly table: RouteLookup;
  readonly affinity: AffinityBindings;
  readonly geo: GeoResolver;
  readonly circuits: CircuitGate;
  constructor(
    engine: SelectionEngine,
    table: RouteLookup,
    affinity: AffinityBindings,
    geo: GeoResolver,
    circuits: CircuitGate = noCircuits,
  ) {
    this.engine = engine;
    this.table = table;
    this.affinity = affinity;
    this.geo = geo;
    this.circuits = circuits;
  }

  release(route: Route): void {
    this.engine.release(route.slot);
  }

  begin(clientIp: string): RouteAttempts {
    const router = this;
    const client = normalizeClientIp(clientIp);
    const attempt = this.#nextAttemptId();
    let tries = 0;
    let country = -1, region = 0, lastNowMs = 0;
    return {
      client,
      next(nowMs) {
        lastNowMs = nowMs;
        router.circuits.advance(nowMs);
        if (tries++ === 0) {
          const sticky = router.#fromAffinity(client, nowMs);
          if (sticky) return sticky;
        }
        if (country < 0) {
          const loc = router.geo.locate(client);
          country = countryCode(loc.country);
          region = router.table.knownRegionId(loc.region);
        }
        return router.#select(country, region, attempt);
      },
      failed(route, nowMs = lastNowMs) {
        router.circuits.failed(route.slot, nowMs);
        router.engine.release(route.slot);
        router.engine.markTried(route.slot, attempt);
        if (route.sticky) router.affinity.unbind(client, route.slot);
      },
      abandoned(route) {
        router.circuits.succeeded(route.slot, route.probe);
        router.engine.release(route.slot);
      },
      connected(route, nowMs) {
        router.circuits.succeeded(route.slot, route.probe);
        if (!route.sticky) router.affinity.bind(client, route.slot, nowMs);
      },
    };
  }

  #fromAffinity(client: string, nowMs: number): Route | null {
    const slot = this.affinity.lookup(client, nowMs);
    if (slot < 0) return null;
    // lookup() checked that the bound backend is still this slot's (incarnation); reuse it only while
    // it is still a candidate.
    const backend = this.table.backendAt(slot);
    if (backend === null || !this.engine.isCandidate(slot) || !this.engine.acquire(slot)) {
      this.affinity.unbind(client, slot);
      return null;
    }
    const admission = this.circuits.admit(slot);
    if (admission === Admission.REFUSED) {
      this.engine.release(slot);
      this.affinity.unbind(client, slot);
      return null;
    }
    return { slot, backend, sticky: true, probe: admission === Admission.PROBE };
  }

  #select(country: number, region: number, attempt: number): Route | null {
    // A refusal (half-open, its probes all taken), a slot another worker filled up between scan and
    // reservation, or one this worker's route view does not know yet marks the slot, so each retry
    // chooses another.
    for (let i = 0; i < 4; i++) {
      const slot = this.engine.select(country, region, attempt, this.#nextSeed());
      if (slot < 0) return null;
      const backend = this.table.backendAt(slot);
      if (backend !== null && this.engine.acquire(slot)) {
        const admission = this.circuits.admit(slot);
        if (admission !== Admission.REFUSED) return { slot, backend, sticky: false, probe: admission === Admission.PROBE };
        this.engine.release(slot);
      }
      this.engine.markTried(slot, attempt);
    }
    return null;
  }

  #nextAttemptId(): number {
    this.#attemptSeq = (this.#attemptSeq + 1) >>> 0;
    if (this.#attemptSeq === 0) this.#attemptSeq = 1; // 0 marks "never tried"
    return this.#attemptSeq;
  }

  /** xorshift32: a cheap tie-breaking stream; the seed is mixed with Math.random at start. */
  #nextSeed(): number {
    let x = this.#seed;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed;
  }

  seed(value: number): void {
    this.#seed = value >>> 0 || 1;
  }
}
