#!/usr/bin/env node
// Executable of edgectl: registers tsx so the TypeScript CLI runs as is, then hands it the arguments.
// The exit code is set, not forced with process.exit(), so buffered output is flushed first.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The project's tsconfig, not whichever one tsx would find from the operator's working directory.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });

// `edgectl ... | head` may close the pipe before everything is written; that is not worth a stack trace.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

const { main } = await import(new URL("../cli/edgectl.ts", import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
