#!/usr/bin/env node
// `npx edgeproxy …` / the package's bin on Node: Node 20 cannot strip types, so tsx loads the CLI.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
