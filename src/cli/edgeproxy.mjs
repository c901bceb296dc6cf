#!/usr/bin/env node
// `npx edgeproxy …` / the package's bin on Node: Node (22.18+, 24) strips the TypeScript types itself.
// In this repository npm puts its own Node 24 (node_modules/.bin) first on the PATH of `npx`/`npm run`.
import process from "node:process";

if (!process.features.typescript) {
  console.error(`edgeproxy: Node ${process.version} cannot run TypeScript; use Node 22.18+ or 24 (npm install puts Node 24 in node_modules/.bin)`);
  process.exit(1);
}
await import("./main.ts");
