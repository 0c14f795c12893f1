/**
 * ■ Interrupt reaching a running experiment (issue 12 item 5).
 *
 * In the TypeScript kernel, SIGINT interrupts the awaiting cell, but the
 * experiment's loop is background work the cell started: without this it
 * would go on starting trials (and, on SLURM, burning GPU hours). The kernel
 * calls the hooks registered on its bridge (the globalThis seam of
 * widgets/kernel-bridge.ts, read here by symbol so the core never imports
 * the UI); a plain Node process (the CLI, a script) hears SIGINT itself.
 *
 * What an interrupt does, like Ray Tune's Ctrl-C: the first pauses (no new
 * trials; running ones checkpoint and exit, resumable with attach); a second
 * stops the running trials. Each says so in the output.
 */

const KERNEL_BRIDGE_SYMBOL = Symbol.for("tunelab.kernel.bridge");

interface InterruptBridge {
  onInterrupt?(fn: () => void): () => void;
}

/** What the experiment tells the interrupt: its name and how many trials are live now. */
export interface InterruptTarget {
  readonly name: string;
  liveTrials(): string[];
  requestStop(how: "stop" | "pause"): void;
}

/** The words an interrupt prints (one function, so the kernel, the CLI and the tests say the same). */
export function interruptMessage(name: string, how: "pause" | "stop", live: string[], via: "kernel" | "process"): string {
  const n = live.length;
  const which = n === 0 ? "no trial is running" : `${n} running trial${n === 1 ? "" : "s"} (${live.join(", ")})`;
  if (how === "pause") {
    const again = via === "kernel" ? "Interrupt again" : "Press Ctrl-C again";
    return [
      `tunelab: interrupted: experiment "${name}" starts no new trials; ${which} ${n === 0 ? "to pause" : n === 1 ? "pauses at its checkpoint" : "pause at their checkpoints"}; the experiment ends "paused".`,
      `  resume later: experiment.attach(${JSON.stringify(name)}) then await exp.run()   (CLI: tunelab attach ${name})`,
      `  ${again} to stop the running trials instead.`,
    ].join("\n");
  }
  return `tunelab: interrupted again: experiment "${name}" stops ${n === 0 ? "(no trial is running)" : which}; the experiment ends "stopped".`;
}

/**
 * While `target` runs: the kernel's ■ Interrupt (or SIGINT in a plain
 * process when `sigint`) pauses it, a second one stops it. Returns the
 * unregister function.
 */
export function stopOnInterrupt(target: InterruptTarget, opts: { sigint?: boolean; write?: (line: string) => void } = {}): () => void {
  const write = opts.write ?? ((s: string) => console.log(s));
  let count = 0;
  const handler = (via: "kernel" | "process") => () => {
    count++;
    if (count > 2) {
      // a third Ctrl-C in a terminal: leave now; the journal is consistent line by line and attach picks up
      if (via === "process") {
        write(`tunelab: interrupted a third time: leaving without waiting; trials already asked to stop may still be ending (tunelab status ${target.name}; tunelab attach ${target.name})`);
        process.exit(130);
      }
      return;
    }
    const how = count === 1 ? "pause" : "stop";
    write(interruptMessage(target.name, how, target.liveTrials(), via));
    target.requestStop(how);
  };
  const offs: Array<() => void> = [];
  const bridge = (globalThis as Record<symbol, unknown>)[KERNEL_BRIDGE_SYMBOL] as InterruptBridge | undefined;
  if (bridge?.onInterrupt) offs.push(bridge.onInterrupt(handler("kernel")));
  else if (opts.sigint) {
    const h = handler("process");
    process.on("SIGINT", h);
    offs.push(() => void process.removeListener("SIGINT", h));
  }
  return () => offs.splice(0).forEach((off) => off());
}
