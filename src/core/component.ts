// The lifecycle every running part of the proxy has (started in list order, ticked by the one
// scheduler, stopped in reverse: src/lifecycle/component.ts runs the list). A port: layers implement it.
export interface Component {
  /** Shown in the log and in a start failure; unique within one proxy. */
  readonly name: string;
  /** Opens what the component holds (files, sockets, listeners). A failure throws a SettingError naming
   *  the setting to fix; the components already started are then stopped in reverse order. */
  start(): void | Promise<unknown>;
  /** Releases it; called once, only after a successful start, after its last tick finished. */
  stop(): void | Promise<unknown>;
  /** Periodic work at `nowMs` (the scheduler's clock), first one period after start. A tick that
   *  returns a promise is awaited before the next one is timed, so ticks never overlap. */
  tick?(nowMs: number): void | Promise<unknown>;
  /** Time to the next tick, read again after every tick (a settings reload may change it). Required with tick. */
  periodMs?(): number;
}
