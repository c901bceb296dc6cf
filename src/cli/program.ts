// The `edgeproxy` command line: `serve`, `node …` and `db …`, with --help on every subcommand.
// runCli never exits the process: it returns the exit code (0 done, 1 store failure, 2 bad input).
import { Command, CommanderError } from "commander";
import { BackendInputError, StoreError } from "../store/store-errors.ts";
import { VERSION } from "../api/version.ts";
import { addNodeCommands } from "./node-commands.ts";
import { addDbCommands } from "./db-commands.ts";
import { addClusterCommands } from "./cluster-commands.ts";
import { EXIT, UsageError } from "./usage-error.ts";
import { addHealthCommand, UnhealthyError, type HealthReach } from "./health-command.ts";

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
  now(): number;
  /** Whether a file exists (so read-only commands never create a routing.db by typo). */
  exists(path: string): Promise<boolean>;
  /** Runs the proxy in this process (`edgeproxy serve`, or no arguments at all). */
  serve(): Promise<void>;
  /** How `edgeproxy health` reaches the running proxy. */
  readonly reach: HealthReach;
}

/** Settings every subcommand reads: where routing.db is. */
export interface CliContext {
  readonly io: CliIo;
  dbPath(): string;
  /** --db as given, or undefined. */
  dbOption(): string | undefined;
}

export function createProgram(io: CliIo): Command {
  const program = new Command("edgeproxy")
    .description("edgeProxy: geo-aware TCP edge proxy. Manage its routing store or run it.")
    .version(VERSION, "-V, --version")
    .option("--db <path>", "routing store file (default: $EDGEPROXY_DB_PATH or routing.db)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      // One line per error, suggestion included: "error: unknown command 'nod' (Did you mean node?)".
      outputError: (s, write) => write(s.trim().replace(/\s*\n\s*/g, " ")),
    })
    .showSuggestionAfterError(true)
    // Subcommand help lists --db too: `edgeproxy db show --help` is where people look for it.
    .configureHelp({ showGlobalOptions: true });
  const context: CliContext = {
    io,
    dbPath: () => (program.opts().db as string | undefined) ?? nonEmpty(io.env.EDGEPROXY_DB_PATH) ?? "routing.db",
    dbOption: () => program.opts().db as string | undefined,
  };
  program
    .command("serve")
    .description("run the proxy (configured by EDGEPROXY_* environment variables; see README)")
    .action(() => {
      if (program.opts().db !== undefined) throw new UsageError("--db", "--db: serve is configured by the environment: set EDGEPROXY_DB_PATH instead");
      return io.serve();
    });
  addNodeCommands(program, context);
  addDbCommands(program, context);
  addHealthCommand(program, context);
  addClusterCommands(program, context);
  return program;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  // No arguments: run the proxy, so the single executable (and a container's entry point) is the proxy.
  if (argv.length === 0) argv = ["serve"];
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; every other parse error is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError || err instanceof BackendInputError) {
      io.err(`error: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof UnhealthyError) {
      io.err(`unhealthy: ${err.message}`);
      return EXIT.failed;
    }
    if (err instanceof StoreError) {
      io.err(`error: ${err.message}`);
      return EXIT.failed;
    }
    throw err;
  }
}
