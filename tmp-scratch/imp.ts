const t0 = performance.now();
await import("commander");
const t1 = performance.now();
await import("../src/store/libsql-store.ts");
const t2 = performance.now();
await import("../src/cli/program.ts");
const t3 = performance.now();
console.log({ commander: t1 - t0, store: t2 - t1, program: t3 - t2 });
