// The EDGEPROXY_* variables the configuration knows, derived from the loader itself (one list, never
// written twice): loadConfig reads every variable whether it is set or not, so loading an empty
// environment that records each name asked for yields them all.
import { loadConfig } from "./config.ts";
import { unknownVariables, type UnknownVariable } from "./core/unknown-variables.ts";

let known: readonly string[] | null = null;

export function knownVariables(): readonly string[] {
  if (known === null) {
    const asked = new Set<string>();
    const recorder = new Proxy({} as Record<string, string | undefined>, {
      get(_, name) {
        if (typeof name === "string") asked.add(name);
        return undefined;
      },
    });
    loadConfig(recorder, "edgeproxy");
    known = Object.freeze([...asked].filter((n) => n.startsWith("EDGEPROXY_")).sort());
  }
  return known;
}

/** Set EDGEPROXY_* variables that no setting reads, each with the nearest known name. */
export function unknownEnvVariables(env: Readonly<Record<string, string | undefined>>): UnknownVariable[] {
  return unknownVariables(Object.keys(env), knownVariables());
}
