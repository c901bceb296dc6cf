// `edgeproxy node add|remove|delete|enable|disable|weight|limits`: one change to one backend row.
// Every argument is checked before the store is opened, so bad input writes nothing.
import type { Command } from "commander";
import type { CliContext } from "./program.ts";
import * as arg from "./arguments.ts";
import { unknownId, withStore } from "./open-store.ts";
import { hostPort } from "../core/host-port.ts";

/** The app a backend added without --app belongs to: the original edgeProxy tools' default. */
export const DEFAULT_APP = "myapp";

interface AddOptions {
  app: string;
  country?: string;
  soft?: string;
  hard?: string;
}

export function addNodeCommands(program: Command, context: CliContext): void {
  const node = program.command("node").description("add, change or remove backends in the routing store");
  const say = (line: string) => context.io.out(line);

  node
    .command("add")
    .description("add a static backend (never expires), or replace the one with this id")
    .argument("<id>", "backend id")
    .argument("<region>", "region code: sa, us, eu, ap or your own")
    .argument("<ip>", "IPv4, IPv6 or hostname of the backend")
    .argument("[port]", "TCP port, 1-65535", "8080")
    .argument("[weight]", "share of traffic among equals, >= 1", "1")
    .option("--app <name>", "application name", DEFAULT_APP)
    .option("--country <code>", "ISO 3166-1 alpha-2 country of the backend (none: no country tier)")
    .option("--soft <n>", "soft limit: connections at which the score starts to rise (default 100)")
    .option("--hard <n>", "hard limit: connections never exceeded (default max(150, soft))")
    .action(async (idRaw: string, regionRaw: string, ipRaw: string, portRaw: string, weightRaw: string, opts: AddOptions) => {
      const id = arg.backendId(idRaw);
      const region = arg.region(regionRaw);
      const host = arg.host(ipRaw);
      const port = arg.port(portRaw);
      const weight = arg.weight(weightRaw);
      const app = arg.app(opts.app);
      const country = opts.country === undefined ? null : arg.country(opts.country);
      const soft = opts.soft === undefined ? 100 : arg.integer("--soft", opts.soft, 1, 1_000_000);
      const hard = opts.hard === undefined ? Math.max(150, soft) : arg.limits(String(soft), opts.hard, { soft: "--soft", hard: "--hard" }).hard;
      const existed = await withStore(context, true, (store) =>
        store.upsertBackend({ id, app, region, country, host, port, weight, softLimit: soft, hardLimit: hard, healthy: true, lastHeartbeatMs: null }));
      const address = hostPort(host, port);
      say(`${existed ? "updated" : "added"} ${id}: region ${region}${country ? ` (${country})` : ""}, ${address}, weight ${weight}, limits ${soft}/${hard}`);
    });

  const change = (name: string, description: string, run: (store: Parameters<Parameters<typeof withStore>[2]>[0], id: string) => Promise<boolean>, done: (id: string) => string) =>
    node
      .command(name)
      .description(description)
      .argument("<id>", "backend id")
      .action(async (idRaw: string) => {
        const id = arg.backendId(idRaw);
        const found = await withStore(context, false, (store) => run(store, id));
        if (!found) throw unknownId(id);
        say(done(id));
      });

  change("remove", "soft delete: keep the row, stop routing to it (undo with enable)", (s, id) => s.softDelete(id), (id) => `removed ${id} (soft delete; "edgeproxy node enable ${id}" restores it)`);
  change("delete", "delete the row for good", (s, id) => s.deleteBackend(id), (id) => `deleted ${id} permanently`);
  node
    .command("enable")
    .description("mark healthy and not deleted")
    .argument("<id>", "backend id")
    .action(async (idRaw: string) => {
      const id = arg.backendId(idRaw);
      const registered = await withStore(context, false, async (store) => {
        if (!(await store.enable(id))) throw unknownId(id);
        return ((await store.getBackend(id))?.lastHeartbeatMs ?? null) !== null;
      });
      say(`enabled ${id} (healthy, routed)`);
      // Enabling does not vouch for a registered backend: the proxy still expires it without heartbeats.
      if (registered) say(`note: ${id} was registered through the API, so it is deregistered again unless it sends heartbeats within EDGEPROXY_HEARTBEAT_TTL_SECS ("edgeproxy node add" makes it static)`);
    });
  change("disable", "mark unhealthy: no new connections (open ones continue)", (s, id) => s.setHealthy(id, false), (id) => `disabled ${id} (unhealthy: no new connections)`);

  node
    .command("weight")
    .description("set the weight (share of traffic among equally good backends)")
    .argument("<id>", "backend id")
    .argument("<weight>", "integer >= 1")
    .action(async (idRaw: string, weightRaw: string) => {
      const id = arg.backendId(idRaw);
      const weight = arg.weight(weightRaw);
      if (!(await withStore(context, false, (store) => store.setWeight(id, weight)))) throw unknownId(id);
      say(`${id}: weight ${weight}`);
    });

  node
    .command("limits")
    .description("set the soft and hard connection limits (soft <= hard)")
    .argument("<id>", "backend id")
    .argument("<soft>", "connections at which the score starts to rise")
    .argument("<hard>", "connections never exceeded")
    .action(async (idRaw: string, softRaw: string, hardRaw: string) => {
      const id = arg.backendId(idRaw);
      const { soft, hard } = arg.limits(softRaw, hardRaw);
      if (!(await withStore(context, false, (store) => store.setLimits(id, soft, hard)))) throw unknownId(id);
      say(`${id}: limits ${soft}/${hard}`);
    });
}
