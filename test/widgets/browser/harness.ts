/**
 * Browser test plumbing: bundle a page with esbuild, serve it (and a few
 * files from node_modules) on loopback, drive Debian's Chromium with
 * puppeteer-core using the flags that work as root here (docs/platform.md).
 * Everything is local: the page may not reach the network.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const ARTIFACTS = path.join(ROOT, "test-artifacts");

export async function bundlePage(entry: string, outdir: string): Promise<{ js: string; css: string | null }> {
  const esbuild = require("esbuild");
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    platform: "browser",
    outdir,
    loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".svg": "dataurl" },
    define: { "process.env.NODE_ENV": '"production"', global: "window" },
    // html-manager's libembed assigns webpack's public path global
    banner: { js: 'var __webpack_public_path__ = "";' },
    logLevel: "error",
  });
  const name = path.basename(entry).replace(/\.ts$/, "");
  const css = path.join(outdir, `${name}.css`);
  return { js: path.join(outdir, `${name}.js`), css: fs.existsSync(css) ? css : null };
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serve `routes` (URL path → file path or content). */
export async function serve(routes: Record<string, { file?: string; body?: string; type: string }>): Promise<Served> {
  const server = http.createServer((req, res) => {
    const r = routes[(req.url ?? "/").split("?")[0]];
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": r.type, "cache-control": "no-store" });
    if (r.file) fs.createReadStream(r.file).pipe(res);
    else res.end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function pageHtml(title: string, hasCss: boolean): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${hasCss ? '<link rel="stylesheet" href="/page.css">' : ""}
<style>body{font-family:sans-serif;margin:16px;background:#fff} .cell-output{margin-bottom:16px}</style></head>
<body><script src="/page.js"></script></body></html>`;
}

export async function launchChromium(): Promise<{ browser: any; close: () => Promise<void> }> {
  const puppeteer = require("puppeteer-core");
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${userDataDir}`,
    ],
    userDataDir,
    // above every waitForFunction timeout the tests use (a CDP call that
    // outlives it fails with its name); screenshots race their own 30 s below
    protocolTimeout: 180_000,
  });
  return {
    browser,
    close: async () => {
      try {
        await browser.close();
      } catch {
        const p = browser.process?.();
        if (p?.pid) process.kill(p.pid, "SIGKILL");
      }
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Block every request that is not to our own loopback server. */
export async function offline(page: any, allowedOrigin: string | string[]): Promise<string[]> {
  const allowed = Array.isArray(allowedOrigin) ? allowedOrigin : [allowedOrigin];
  const blocked: string[] = [];
  await page.setRequestInterception(true);
  page.on("request", (req: any) => {
    const u: string = req.url();
    if (allowed.some((a) => u.startsWith(a)) || u.startsWith("blob:") || u.startsWith("data:")) req.continue();
    else {
      blocked.push(u);
      req.abort();
    }
  });
  return blocked;
}

/**
 * Screenshot for test-artifacts/. Headless Chromium does not paint a tab that
 * is not in front, and Page.captureScreenshot then waits forever: bring it to
 * the front first. Returns the error instead of throwing when `optional`, for
 * pictures that document a test rather than being what it checks.
 */
export async function screenshot(page: any, file: string, opts: { fullPage?: boolean; optional?: boolean } = {}): Promise<Error | null> {
  try {
    await page.bringToFront();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("screenshot took over 30 s")), 30_000);
    });
    try {
      await Promise.race([page.screenshot({ path: file, fullPage: opts.fullPage ?? false }), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return null;
  } catch (e) {
    if (!opts.optional) throw e;
    console.error(`[artifact] screenshot ${path.basename(file)} not taken: ${String(e).slice(0, 200)}`);
    return e as Error;
  }
}
