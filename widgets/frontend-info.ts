/**
 * Is there a front-end that renders protocol-2 widgets? ipywidgets 8's widget
 * manager (JupyterLab 4 with jupyterlab_widgets 3, Notebook 7, VS Code,
 * tunelab's own JupyterLab 4 page) opens the `jupyter.widget.control` comm
 * as soon as it connects to the kernel (and again on every page reload), to
 * fetch the live widgets. Debian's classic Notebook 6 ships ipywidgets 6
 * JavaScript, which never does: there the widgets show their fallback
 * pictures. The tunelab kernel answers that comm from start-up
 * (ensureControlTarget), so the opens are on record before any cell runs.
 */
import { getKernelBridge } from "./kernel-bridge";
import { widgetRegistry } from "./widget";

export interface WidgetFrontend {
  /** a protocol-2 widget manager connected to this kernel since it started */
  connected: boolean;
  /** the kernel has comms at all (false: plain Node or stock tslab; nothing can render widgets) */
  kernelComms: boolean;
  /** what it is, in words (for a notebook cell to print) */
  description: string;
  /** the control-comm protocol version the manager announced (ipywidgets 8: "1.0.0") */
  controlVersion: string | null;
  /** how many times a manager connected (page loads and reloads) */
  connections: number;
  /** when the last one connected (ISO 8601), or null */
  lastConnectedAt: string | null;
}

/** What the kernel has seen of widget front-ends so far (no waiting). */
export function widgetFrontend(): WidgetFrontend {
  const kernelComms = getKernelBridge() !== null;
  const opens = widgetRegistry().controlOpens ?? [];
  const last = opens[opens.length - 1];
  const connected = kernelComms && opens.length > 0;
  const description = !kernelComms
    ? "no: this kernel has no comms (plain Node or stock tslab), widgets show as pictures"
    : connected
      ? `yes: an ipywidgets 8 widget manager is connected (control protocol ${last.version ?? "unknown"})`
      : "no: no ipywidgets 8 widget manager connected (classic Notebook 6 or a headless run), widgets show as pictures";
  return {
    connected,
    kernelComms,
    description,
    controlVersion: last?.version ?? null,
    connections: opens.length,
    lastConnectedAt: last ? new Date(last.at).toISOString() : null,
  };
}

/**
 * Like widgetFrontend(), but gives a front-end that is still connecting up to
 * `timeoutMs` (default 2 s) to open its control comm; resolves at once when
 * one has, or when the kernel has no comms.
 */
export async function waitForWidgetFrontend(timeoutMs = 2000): Promise<WidgetFrontend> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = widgetFrontend();
    if (f.connected || !f.kernelComms || Date.now() >= deadline) return f;
    await new Promise((r) => setTimeout(r, 100));
  }
}
