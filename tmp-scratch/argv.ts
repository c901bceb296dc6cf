import { commandArgs, setExitCode } from "../src/runtime/cli-process.ts";
console.log(JSON.stringify(commandArgs()));
setExitCode(3);
