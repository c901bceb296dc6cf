// One lifecycle for every running part of the proxy (pingora's services, Envoy's init manager): a
// component is started in list order, its periodic work is driven by the one Scheduler, and it is
// stopped in reverse order. Nothing runs by side effect of being constructed.
import type { Logger } from "./log.ts";
import type { Periodic, Scheduler } from "./scheduler.ts";

export type { Component } from "../core/component.ts";
import type { Component } from "../core/component.ts";


export interface RunningComponents {
  /** Names in start order. */
  readonly names: readonly string[];
  /** Stops every started component in reverse order (each after its ticks); idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `components` in order. When one fails to start, the ones already started are stopped in
 * reverse order and its error is rethrown. A stop that fails is logged; the others still stop.
 */
export async function startInOrder(components: readonly Component[], scheduler: Scheduler, log: Logger): Promise<RunningComponents> {
  const started: { readonly component: Component; readonly ticks: Periodic | null }[] = [];
  let stopping: Promise<void> | null = null;
  const stopAll = () => (stopping ??= (async () => {
    for (const { component, ticks } of started.reverse()) {
      await ticks?.cancel();
      try {
        await component.stop();
        log.debug("component stopped", { component: component.name });
      } catch (err) {
        log.error("component failed to stop", { component: component.name, error: (err as Error).message });
      }
    }
  })());

  for (const component of components) {
    if (component.tick !== undefined && component.periodMs === undefined) throw new TypeError(`component ${component.name}: tick without periodMs`);
    try {
      await component.start();
    } catch (err) {
      log.debug("component failed to start, stopping the others", { component: component.name });
      await stopAll();
      throw err;
    }
    const { tick, periodMs } = component;
    const ticks = tick === undefined ? null : scheduler.every(component.name, () => periodMs!.call(component), (nowMs) => tick.call(component, nowMs));
    started.push({ component, ticks });
    log.debug("component started", { component: component.name });
  }
  const names = started.map((s) => s.component.name);
  return { names, stop: stopAll };
}
