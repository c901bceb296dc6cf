#!/usr/bin/env node
// `npm run test:image`: builds the container image from the top-level Dockerfile with podman, runs it,
// proxies a connection through it to a backend on this host, checks its HEALTHCHECK, stops it, and
// prints the image size. Needs root, podman, runc and debootstrap (.ci/run installs them); no registry:
// build/base-images.sh makes the base image locally (cached in .cache/base-images/).
//
// How podman runs on this machine (measured, DESIGN.md "Runtimes and packaging"):
//   podman build --isolation chroot …     the default OCI isolation cannot run here
//   podman --runtime runc --cgroup-manager cgroupfs run --network host --ulimit nofile=… --ulimit nproc=…
//                                         crun refuses the hybrid cgroups; the default ulimits exceed
//                                         the sandbox's
// The build runs with --pull=never (the base image must be local) and its RUN steps fetch nothing:
// everything comes from the context (see the Dockerfile). `--network none` would make that structural,
// but chroot isolation refuses it ("cannot set --network other than host with --isolation chroot").
// The container shares the host network, so every listener it opens is
// put on 127.0.0.1 (EDGEPROXY_*_LISTEN_ADDR) and the only address it talks to is the test backend's.
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const IMAGE = process.env.EDGEPROXY_TEST_IMAGE ?? "localhost/edgeproxy:test";
const tag = `edgeproxy-test-${process.pid}`;
const CONTAINER = tag;
const VOLUME = `${tag}-data`;
const RUN_FLAGS = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"];
const LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=10000:10000"];
const started = Date.now();

function step(text) {
  console.log(`[test:image ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`);
}

/** Runs a command to its end; throws with its output when it fails (unless `allowFail`). */
function sh(cmd, args, { allowFail = false, inherit = false, timeoutMs = 600_000 } = {}) {
  const res = spawnSync(cmd, args, { cwd: root, encoding: "utf8", stdio: inherit ? "inherit" : "pipe", timeout: timeoutMs, maxBuffer: 64 << 20 });
  const out = `${res.stdout ?? ""}${res.stderr ?? ""}`;
  if (!allowFail && res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} → exit ${res.status ?? res.signal}${res.error ? ` (${res.error.message})` : ""}\n${out}`);
  return { code: res.status, out, stdout: res.stdout ?? "" };
}

const podman = (args, options) => sh("podman", [...RUN_FLAGS, ...args], options);

/** A free loopback port (the container shares the host network, so it must be picked up front). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The host-side backend: greets with its id, then echoes. */
function startBackend(id) {
  const sockets = new Set();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write(`${id}\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    port: server.address().port,
    close: () => new Promise((done) => { for (const s of sockets) s.destroy(); server.close(() => done()); }),
  })));
}

/** Through the proxy: the greeting line, then `payload` echoed back. */
function roundTrip(port, payload) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let buf = "";
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no echo within 15 s, got ${JSON.stringify(buf)}`)); }, 15_000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0 && buf.length - nl - 1 >= payload.length) {
        clearTimeout(timer);
        socket.end();
        resolve({ greeting: buf.slice(0, nl), echoed: buf.slice(nl + 1) });
      }
    });
    socket.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function assert(ok, message) {
  if (!ok) throw new Error(`assertion failed: ${message}`);
}

function preflight() {
  const missing = ["podman", "runc", "debootstrap"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: apt-get install -y ${missing.join(" ")} (see .ci/run)`);
  if (process.getuid?.() !== 0) throw new Error("run as root (podman builds here with --isolation chroot as root)");
  const bun = spawnSync(`${root}node_modules/.bin/bun`, ["--version"]);
  if (bun.status !== 0) throw new Error("node_modules/.bin/bun is missing: run npm ci first (the image's build stage copies node_modules)");
}

async function main() {
  preflight();
  step("base image (build/base-images.sh)");
  sh("bash", ["build/base-images.sh"], { inherit: true });

  step(`podman build → ${IMAGE}`);
  const previous = sh("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE], { allowFail: true });
  const buildStarted = Date.now();
  sh("podman", ["build", "--isolation", "chroot", "--format", "docker", "--pull=never", "--layers=false", "-t", IMAGE, "."], { inherit: true });
  const buildSecs = (Date.now() - buildStarted) / 1000;
  const id = sh("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE]).stdout.trim();
  if (previous.code === 0 && previous.stdout.trim() !== id) podman(["rmi", previous.stdout.trim()], { allowFail: true }); // the last run's image, now untagged
  const size = Number(sh("podman", ["image", "inspect", "--format", "{{.Size}}", IMAGE]).stdout.trim());
  const healthcheck = sh("podman", ["image", "inspect", "--format", "{{json .Config.Healthcheck}}", IMAGE]).stdout.trim();
  const user = sh("podman", ["image", "inspect", "--format", "{{.Config.User}}", IMAGE]).stdout.trim();
  assert(/edgeproxy.*health/.test(healthcheck), `image HEALTHCHECK runs edgeproxy health, got ${healthcheck}`);
  assert(user !== "" && user !== "root" && !user.startsWith("0"), `image runs as a non-root user, got ${JSON.stringify(user)}`);
  const volumes = sh("podman", ["image", "inspect", "--format", "{{json .Config.Volumes}}", IMAGE]).stdout;
  const ports = sh("podman", ["image", "inspect", "--format", "{{json .Config.ExposedPorts}}", IMAGE]).stdout;
  assert(volumes.includes("/var/lib/edgeproxy"), `image declares the routing.db volume, got ${volumes}`);
  assert(["8080/tcp", "8081/tcp", "8443/tcp", "9090/tcp"].every((p) => ports.includes(p)), `image exposes the proxy, API, TLS and metrics ports, got ${ports}`);

  const backend = await startBackend("echo-1");
  try {
    const [proxyPort, metricsPort] = [await freePort(), await freePort()];
    step(`edgeproxy node add (in the image, on volume ${VOLUME}); backend on the host at 127.0.0.1:${backend.port}`);
    const added = podman(["run", "--rm", "--network", "none", ...LIMITS, "-v", `${VOLUME}:/var/lib/edgeproxy`, IMAGE, "node", "add", "echo-1", "sa", "127.0.0.1", String(backend.port)]);
    assert(/added echo-1/i.test(added.out), `node add: ${added.out}`);

    step(`podman run: proxy on 127.0.0.1:${proxyPort}, metrics on 127.0.0.1:${metricsPort}`);
    const runStarted = Date.now();
    podman(["run", "-d", "--name", CONTAINER, "--network", "host", ...LIMITS, "-v", `${VOLUME}:/var/lib/edgeproxy`,
      "-e", `EDGEPROXY_LISTEN_ADDR=127.0.0.1:${proxyPort}`,
      "-e", "EDGEPROXY_METRICS_ENABLED=true",
      "-e", `EDGEPROXY_METRICS_LISTEN_ADDR=127.0.0.1:${metricsPort}`,
      "-e", "EDGEPROXY_SHUTDOWN_TIMEOUT_SECS=5",
      IMAGE]);
    const logs = () => podman(["logs", CONTAINER], { allowFail: true }).out;
    await until("edgeProxy listening in the container's log", () => {
      const text = logs();
      if (/"msg":"edgeProxy listening"/.test(text)) return true;
      const state = podman(["inspect", "--format", "{{.State.Status}}", CONTAINER], { allowFail: true }).stdout.trim();
      if (state === "exited") throw new Error(`the container exited:\n${text}`);
      return undefined;
    });
    const startupMs = Date.now() - runStarted;

    step("proxy a connection through the container");
    const { greeting, echoed } = await roundTrip(proxyPort, "hello through the image\n");
    assert(greeting === "echo-1" && echoed === "hello through the image\n", `round trip: ${JSON.stringify({ greeting, echoed })}`);

    step("podman healthcheck run");
    const health = podman(["healthcheck", "run", CONTAINER], { allowFail: true });
    assert(health.code === 0, `healthcheck run exit ${health.code}: ${health.out}`);
    const status = podman(["inspect", "--format", "{{.State.Health.Status}}", CONTAINER], { allowFail: true }).stdout.trim()
      || podman(["inspect", "--format", "{{.State.Healthcheck.Status}}", CONTAINER], { allowFail: true }).stdout.trim();
    assert(status === "healthy", `container health status ${JSON.stringify(status)}`);

    step("db show in the running container");
    const shown = podman(["exec", CONTAINER, "edgeproxy", "db", "show"]);
    assert(new RegExp(`echo-1 .*127\\.0\\.0\\.1:${backend.port}`).test(shown.out), `db show: ${shown.out}`);

    step("podman stop (SIGTERM)");
    podman(["stop", "-t", "15", CONTAINER]);
    const exitCode = podman(["inspect", "--format", "{{.State.ExitCode}}", CONTAINER]).stdout.trim();
    assert(exitCode === "0", `exit code after SIGTERM: ${exitCode}\n${logs()}`);
    assert(/"msg":"stopped"/.test(logs()), "the log ends with stopped");

    console.log(`test:image ok — image ${IMAGE} ${(size / 1e6).toFixed(0)} MB, built in ${buildSecs.toFixed(0)} s, ` +
      `container listening ${(startupMs / 1000).toFixed(1)} s after podman run, total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await backend.close();
    podman(["rm", "-f", "-t", "0", CONTAINER], { allowFail: true });
    podman(["volume", "rm", "-f", VOLUME], { allowFail: true });
  }
}

main().catch((err) => {
  console.error(`test:image FAILED: ${err.stack ?? err}`);
  process.exitCode = 1;
});
