/**
 * Entry point: `createSlurmBackend(spec, {experiment, runDir})`. No `host`
 * in the spec → sbatch on this machine (LocalTransport); otherwise ssh2.
 */
import type { SlurmBackendSpec } from "../../config/types";
import { SlurmBackend } from "./slurm";
import { kernelPrompt, ttyPrompt, type KbdPrompt } from "./ssh";
import { LocalTransport, SshTransport, type ReconnectOptions, type Transport } from "./transport";

export interface CreateSlurmOptions {
  experiment: string;
  runDir?: string;
  /** array throttle for batches (experiment.maxConcurrent) */
  maxConcurrent?: number;
  /** answers keyboard-interactive prompts (second factor) */
  prompt?: KbdPrompt;
  /** bastion host key (the target's is spec.hostKey) */
  jumpHostKey?: string;
  /** LocalTransport only: extra environment (tests: SLURM_CONF of a private cluster) */
  env?: Record<string, string>;
  reconnect?: ReconnectOptions;
  /** use this transport instead of building one */
  transport?: Transport;
  arrays?: boolean;
}

export function transportFor(spec: SlurmBackendSpec, o: Omit<CreateSlurmOptions, "experiment"> = {}): Transport {
  if (o.transport) return o.transport;
  if (!spec.host) return new LocalTransport(o.env);
  return new SshTransport({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    identityFile: spec.identityFile,
    hostKey: spec.hostKey,
    knownHosts: spec.knownHosts,
    jump: spec.jump,
    jumpHostKey: o.jumpHostKey,
    // a second factor is asked in the notebook (tunelab kernel) or at the terminal (CLI)
    prompt: o.prompt ?? kernelPrompt() ?? ttyPrompt(),
    reconnect: o.reconnect,
  });
}

export function createSlurmBackend(spec: SlurmBackendSpec, o: CreateSlurmOptions): SlurmBackend {
  return new SlurmBackend(spec, { experiment: o.experiment, transport: transportFor(spec, o), maxConcurrent: o.maxConcurrent, arrays: o.arrays });
}

export { SlurmBackend } from "./slurm";
export { LocalTransport, SshTransport } from "./transport";
export type { Transport, ExecResult, TransportStats } from "./transport";
export { HostKeyError, AuthError, fingerprint, knownHostKeys, kernelPrompt, ttyPrompt } from "./ssh";
export type { KbdPrompt, SshOptions } from "./ssh";
export { shq } from "./quote";
