// `npm start` (and start:bun, start:deno) as a user runs them: SIGTERM to the npm process stops the
// proxy. npm forwards the signal to its child shell; each script `exec`s the runtime so the proxy is
// that child (a shell in between died and left the proxy listening). start:deno also finds the Deno
// installed into .tools/ (a bare `deno` is not on a user's PATH).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { repoRoot } from "../fixtures/runtime.ts";

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.on("connect", () => { socket.destroy(); resolve("connected"); });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const script of ["start", "start:bun", "start:deno"]) {
  test(`SIGTERM to \`npm run ${script}\` stops the proxy`, { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeproxy-start-"));
    // Without DENO_BIN, start:deno uses (or installs) the .tools/ one, as after `npm install`.
    const { DENO_BIN: _, ...env } = process.env;
    const npm = spawn("npm", ["run", "--silent", script], {
      cwd: repoRoot,
      env: { ...env, EDGEPROXY_LISTEN_ADDR: "127.0.0.1:0", EDGEPROXY_DB_PATH: join(dir, "routing.db"), EDGEPROXY_LOG_LEVEL: "info", EDGEPROXY_SHUTDOWN_TIMEOUT_SECS: "3" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let exited = false;
    const exit = new Promise<void>((r) => npm.on("exit", () => { exited = true; r(); }));
    const listening = new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString("utf8");
        const m = /"msg":"edgeProxy listening".*?"addr":"[^"]*:(\d+)"/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      npm.stdout!.on("data", onData);
      npm.stderr!.on("data", onData);
      void exit.then(() => reject(new Error(`npm run ${script} exited before listening:\n${output}`)));
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const port = await Promise.race([listening, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`npm run ${script}: not listening within 90 s:\n${output}`)), 90_000); })]);
      clearTimeout(timer);
      assert.equal(await tryConnect(port), "connected");
      process.kill(npm.pid!, "SIGTERM");
      await until(`port ${port} closed after SIGTERM to npm`, async () => (await tryConnect(port)) !== "connected", 20_000);
      await until("npm exited", async () => exited, 20_000);
    } finally {
      clearTimeout(timer);
      if (!exited) npm.kill("SIGKILL");
      // a proxy left behind would hold these pipes open and keep the test process alive
      npm.stdout!.destroy();
      npm.stderr!.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
