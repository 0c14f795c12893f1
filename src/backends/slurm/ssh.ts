/**
 * Opening one authenticated ssh2 connection: host key pinned by fingerprint
 * or found in a known_hosts file (hashed entries too; backend.knownHosts, by
 * default ~/.ssh/known_hosts as OpenSSH reads it), otherwise refused with
 * a message that shows the fingerprint to confirm; key file or agent, then an
 * optional keyboard-interactive second factor through a prompt callback;
 * ProxyJump through a bastion (forwardOut on the jump connection + a second
 * Client over that stream). No secret is ever logged or put in an error.
 */
import { Client, type ConnectConfig, type Prompt } from "ssh2";
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import type { Duplex } from "node:stream";
import { getKernelBridge } from "../../../widgets/kernel-bridge";

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

/** Answers keyboard-interactive prompts (e.g. a TOTP code); one answer per prompt. */
export type KbdPrompt = (prompts: Array<{ prompt: string; echo: boolean }>, info: { name: string; instructions: string }) => Promise<string[]>;

/** A KbdPrompt that asks one question at a time ("name: prompt"), showing the instructions first when there is a way to. */
function promptEach(ask: (question: string, echo: boolean) => Promise<string>, showInstructions?: (text: string) => void): KbdPrompt {
  return async (prompts, info) => {
    if (info.instructions && showInstructions) showInstructions(info.instructions);
    const answers: string[] = [];
    for (const p of prompts) answers.push(await ask(`${info.name ? `${info.name}: ` : ""}${p.prompt}`, p.echo));
    return answers;
  };
}

/**
 * In a terminal (`tunelab run`, `tunelab cluster check`): ask each prompt on
 * stderr and read the answer from the TTY in raw mode, echoing nothing for
 * hidden prompts. Undefined when stdin is not a terminal.
 */
export function ttyPrompt(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): KbdPrompt | undefined {
  if (!input.isTTY || typeof input.setRawMode !== "function") return undefined;
  const readLine = (question: string, echo: boolean) =>
    new Promise<string>((resolve, reject) => {
      let answer = "";
      const wasRaw = input.isRaw;
      // raw mode before the prompt shows: keys typed as soon as it appears are never echoed by the terminal
      input.setRawMode(true);
      input.resume();
      output.write(question);
      const done = (err?: Error) => {
        input.off("data", onData);
        input.setRawMode(wasRaw);
        input.pause();
        output.write("\n");
        if (err) reject(err);
        else resolve(answer);
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return done();
          if (ch === "\u0003" || ch === "\u0004") return done(new Error("cancelled at the terminal"));
          if (ch === "\u007f" || ch === "\b") {
            if (answer) {
              answer = answer.slice(0, -1);
              if (echo) output.write("\b \b");
            }
            continue;
          }
          answer += ch;
          if (echo) output.write(ch);
        }
      };
      input.on("data", onData);
    });
  return promptEach(readLine, (instructions) => output.write(`${instructions}\n`));
}

/**
 * Inside the tunelab kernel: answer keyboard-interactive prompts through the
 * notebook's own input box (Jupyter input_request; hidden when the server
 * asks without echo), so a second factor never has to be written in a cell.
 * Undefined outside a kernel that can ask. Works while a cell runs (connect,
 * cluster check, run); a reconnect after the cell returned cannot ask and
 * fails with an authentication error that says so.
 */
export function kernelPrompt(): KbdPrompt | undefined {
  const bridge = getKernelBridge();
  if (!bridge?.input) return undefined;
  const input = bridge.input.bind(bridge);
  return promptEach((question, echo) => input(question, { password: !echo }));
}

export interface SshOptions {
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  /** agent socket; default $SSH_AUTH_SOCK */
  agent?: string;
  /** "SHA256:..." as `ssh-keygen -lf` prints */
  hostKey?: string;
  knownHosts?: string;
  /** bastion: "user@host:port" (or an endpoint) */
  jump?: string | SshEndpoint;
  jumpHostKey?: string;
  prompt?: KbdPrompt;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
}

/** The host key is not pinned or known: permanent, never retried. */
export class HostKeyError extends Error {
  constructor(readonly host: string, readonly port: number, readonly fingerprint: string, readonly mismatch: boolean) {
    super(
      mismatch
        ? `host key of ${host}:${port} is ${fingerprint}, which does NOT match the pinned/known key: refusing to connect (possible man-in-the-middle, or the key changed; ask the cluster admins)`
        : `host key of ${host}:${port} is not known: refusing to connect. Its fingerprint is ${fingerprint}. ` +
            `Confirm it with the cluster admins (or run \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the cluster), ` +
            `then pin it with backend.hostKey = "${fingerprint}" (or add the host to ~/.ssh/known_hosts, read by default, or to a known_hosts file given as backend.knownHosts)`,
    );
    this.name = "HostKeyError";
  }
}

/** Authentication failed: permanent, never retried. */
export class AuthError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "AuthError";
  }
}

export function fingerprint(keyBlob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "");
}

export function parseEndpoint(s: string, defUser: string): SshEndpoint {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:\s@]+)(?::(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`backend.jump: ${JSON.stringify(s)} is not "user@host:port"`);
  return { user: m[1] ?? defUser, host: m[2].replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : 22 };
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp("^" + pattern.replace(/[.+^${}()|\\[\]]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "i");
  return re.test(name);
}

/**
 * Key blobs (base64) that a known_hosts file lists for host:port. Supports
 * plain, comma-separated, `[host]:port`, wildcard and hashed (`|1|salt|hash`)
 * entries; negated patterns and @revoked/@cert-authority lines are skipped.
 */
export function knownHostKeys(text: string, host: string, port: number): string[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("@")) continue;
    const [hosts, , blob] = line.split(/\s+/);
    if (!hosts || !blob) continue;
    let match = false;
    for (const pat of hosts.split(",")) {
      if (pat.startsWith("|1|")) {
        const [, , salt, hash] = pat.split("|");
        const h = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
        if (h === hash) match = true;
      } else if (pat.startsWith("!")) {
        if (globMatch(pat.slice(1), name)) {
          match = false;
          break;
        }
      } else if (globMatch(pat, name)) match = true;
    }
    if (match) keys.push(blob);
  }
  return keys;
}

/** ~/.ssh/known_hosts ($HOME read at each connection, so a changed HOME is honoured). */
export function defaultKnownHosts(): string {
  return `${os.homedir()}/.ssh/known_hosts`;
}

function verifier(host: string, port: number, pinned: string | undefined, knownHostsFile: string | undefined, onRefuse: (e: HostKeyError) => void) {
  return (key: Buffer): boolean => {
    const fp = fingerprint(key);
    if (pinned) {
      if (pinned.replace(/=+$/, "") === fp) return true;
      onRefuse(new HostKeyError(host, port, fp, true));
      return false;
    }
    if (knownHostsFile) {
      let text = "";
      try {
        text = fs.readFileSync(knownHostsFile, "utf8");
      } catch {
        /* missing file: unknown host */
      }
      const listed = knownHostKeys(text, host, port);
      if (listed.includes(key.toString("base64"))) return true;
      onRefuse(new HostKeyError(host, port, fp, listed.length > 0));
      return false;
    }
    onRefuse(new HostKeyError(host, port, fp, false));
    return false;
  };
}

function authHandler(user: string, opts: SshOptions, key: Buffer | undefined, onPromptError: (e: Error) => void = () => undefined): ConnectConfig["authHandler"] {
  const agent = opts.agent ?? process.env.SSH_AUTH_SOCK;
  type M = Parameters<Extract<ConnectConfig["authHandler"], (...a: never[]) => unknown>>[2] extends (m: infer X) => void ? X : never;
  const methods: M[] = [];
  if (key) methods.push({ type: "publickey", username: user, key, passphrase: opts.passphrase } as M);
  if (agent) methods.push({ type: "agent", username: user, agent } as M);
  if (opts.prompt) {
    const ask = opts.prompt;
    methods.push({
      type: "keyboard-interactive",
      username: user,
      prompt: (name: string, instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
        ask(prompts.map((p) => ({ prompt: p.prompt, echo: !!p.echo })), { name, instructions }).then(finish, (e) => {
          onPromptError(e instanceof Error ? e : new Error(String(e)));
          finish([]);
        });
      },
    } as M);
  }
  let i = 0;
  return (methodsLeft, _partial, next) => {
    while (i < methods.length) {
      const m = methods[i++] as unknown as { type: string };
      if (!methodsLeft || methodsLeft.includes(m.type as never)) return next(m as never);
    }
    return next(false as never);
  };
}

/** Open one connection (through the bastion when `jump` is set). Resolves once authenticated. */
export async function connectSsh(opts: SshOptions, onClose: (err?: Error) => void): Promise<{ client: Client; jump?: Client }> {
  const user = opts.user ?? os.userInfo().username;
  const port = opts.port ?? 22;
  let key: Buffer | undefined;
  if (opts.privateKey) key = Buffer.from(opts.privateKey);
  else if (opts.identityFile) {
    try {
      key = fs.readFileSync(opts.identityFile.replace(/^~(?=\/)/, os.homedir()));
    } catch (e) {
      throw new AuthError(`backend.identityFile: cannot read ${opts.identityFile}: ${(e as NodeJS.ErrnoException).code}`);
    }
  }
  let jumpClient: Client | undefined;
  let sock: Duplex | undefined;
  if (opts.jump) {
    const ep = typeof opts.jump === "string" ? parseEndpoint(opts.jump, user) : opts.jump;
    jumpClient = await openClient({ host: ep.host, port: ep.port, user: ep.user, pinned: opts.jumpHostKey, opts, key, onClose: () => onClose() });
    const jc = jumpClient;
    sock = await new Promise<Duplex>((resolve, reject) =>
      jc.forwardOut("127.0.0.1", 0, opts.host, port, (err, stream) => (err ? reject(new Error(`bastion ${ep.host}:${ep.port} could not reach ${opts.host}:${port}: ${err.message}`)) : resolve(stream))),
    );
  }
  try {
    const client = await openClient({ host: opts.host, port, user, pinned: opts.hostKey, opts, key, sock, onClose });
    return { client, jump: jumpClient };
  } catch (e) {
    jumpClient?.end();
    throw e;
  }
}

function openClient(a: {
  host: string;
  port: number;
  user: string;
  pinned?: string;
  opts: SshOptions;
  key?: Buffer;
  sock?: Duplex;
  onClose: (err?: Error) => void;
}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    let refused: HostKeyError | undefined;
    let ready = false;
    let lastErr: Error | undefined;
    let promptErr: Error | undefined;
    c.on("ready", () => {
      ready = true;
      resolve(c);
    });
    c.on("error", (err) => {
      lastErr = err;
      if (!ready) {
        if (refused) reject(refused);
        else if ((err as { level?: string }).level === "client-authentication")
          reject(new AuthError(promptErr
            ? `authentication to ${a.user}@${a.host}:${a.port} failed: the second-factor prompt was not answered (${promptErr.message})`
            : `authentication to ${a.user}@${a.host}:${a.port} failed (${err.message}): check backend.user, backend.identityFile (is its public key in ~/.ssh/authorized_keys on the cluster?) or the ssh agent`));
        else reject(err);
      }
    });
    c.on("close", () => {
      if (!ready) reject(refused ?? lastErr ?? new Error(`connection to ${a.host}:${a.port} closed during setup`));
      else a.onClose(lastErr);
    });
    c.connect({
      host: a.sock ? undefined : a.host,
      port: a.sock ? undefined : a.port,
      sock: a.sock as never,
      username: a.user,
      // no pin and no file named: the user's own known_hosts, as `ssh` does (fails closed when not listed)
      hostVerifier: verifier(a.host, a.port, a.pinned, a.opts.knownHosts ?? defaultKnownHosts(), (e) => (refused = e)) as never,
      authHandler: authHandler(a.user, a.opts, a.key, (e) => (promptErr = e)),
      keepaliveInterval: a.opts.keepaliveIntervalMs ?? 5000,
      keepaliveCountMax: a.opts.keepaliveCountMax ?? 3,
      readyTimeout: a.opts.readyTimeoutMs ?? 20000,
    });
  });
}
