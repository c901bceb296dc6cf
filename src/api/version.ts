// The package version, read from package.json at build time (embedded in a compiled executable too).
import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
