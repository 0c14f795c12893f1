#!/usr/bin/env node
"use strict";
// `tunelab status NAME | head`: the reader closing the pipe ends the output, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e && e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
require("../dist/src/cli/main.js").main(process.argv.slice(2));
