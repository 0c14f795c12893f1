// The workshop's notebook page: JupyterLab 4's own application, notebook,
// rendermime and codemirror packages with the real ipywidgets manager
// (@jupyter-widgets/jupyterlab-manager 5) and anywidget, bundled by
// ../build.js and served by the local Jupyter server (same origin) where
// `jupyter lab` itself is not installed. Without ?path= it lists the
// notebooks of ?dir=; with ?path=NB.ipynb it opens that notebook in a
// NotebookPanel under LabShell. Tests read window.tunelabLab (see
// test/support/lab-page.ts).
import "./style";
import { JupyterLab, LabShell, LayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from "@jupyterlab/application";
import { CommandToolbarButton, SessionContextDialogs, Toolbar as AppToolbar } from "@jupyterlab/apputils";
import {
  CodeMirrorEditorFactory,
  CodeMirrorMimeTypeService,
  EditorExtensionRegistry,
  EditorLanguageRegistry,
  EditorThemeRegistry,
  ybinding,
} from "@jupyterlab/codemirror";
import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { DocumentManager } from "@jupyterlab/docmanager";
import type { DocumentRegistry } from "@jupyterlab/docregistry";
import { createMarkdownParser } from "@jupyterlab/markedparser-extension";
import {
  ExecutionIndicator,
  INotebookTracker,
  NotebookActions,
  NotebookModelFactory,
  NotebookPanel,
  NotebookTracker,
  NotebookWidgetFactory,
  StaticNotebook,
  runCell,
  setCellExecutor,
} from "@jupyterlab/notebook";
import { IRenderMimeRegistry, RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import { ServerConnection, ServiceManager } from "@jupyterlab/services";
import { StateDB } from "@jupyterlab/statedb";
import { Toolbar } from "@jupyterlab/ui-components";
import * as base from "@jupyter-widgets/base";
import * as controls from "@jupyter-widgets/controls";
import { JUPYTER_CONTROLS_VERSION } from "@jupyter-widgets/controls/lib/version";
import { baseWidgetsPlugin, managerPlugin, outputWidgetPlugin } from "@jupyter-widgets/jupyterlab-manager/lib/plugin";
import { ANYWIDGET_BUILDS, evaluateAmd } from "./anywidget";

const w = window as any;
const errors: string[] = [];
window.addEventListener("error", (e) => errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => errors.push(String((e as PromiseRejectionEvent).reason?.stack ?? (e as PromiseRejectionEvent).reason)));

const params = new URLSearchParams(location.search);
const token = params.get("token") ?? "";
// The page lives at <base_url>static/tunelab/index.html on the Jupyter server.
const baseUrl = location.pathname.replace(/static\/tunelab\/[^/]*$/, "");
PageConfig.setOption("baseUrl", baseUrl);
PageConfig.setOption("token", token);
PageConfig.setOption("appName", "tunelab");

const serverSettings = ServerConnection.makeSettings({
  baseUrl: URLExt.join(location.origin, baseUrl),
  wsUrl: URLExt.join(location.origin.replace(/^http/, "ws"), baseUrl),
  token,
  // a browser cannot put the token in a websocket's headers
  appendToken: true,
});

/** Link to this page with `extra` query parameters (the token is kept). */
function pageLink(extra: Record<string, string>): string {
  const q = new URLSearchParams({ ...extra, ...(token ? { token } : {}) });
  return `${location.pathname}?${q}`;
}

/**
 * Counters for tests: every cell scheduled through NotebookActions and how it
 * ended, and Run All commands started / finished (runAll's promise settles
 * once every cell has run or been skipped after an error).
 */
const stats = { scheduled: 0, executed: 0, failed: 0, runAllStarted: 0, runAllFinished: 0 };
NotebookActions.executionScheduled.connect(() => void stats.scheduled++);
NotebookActions.executed.connect((_, a) => {
  stats.executed++;
  if (!a.success) stats.failed++;
});

const RUN_ALL = "notebook:run-all-cells";

function rendermimePlugin(rendermime: RenderMimeRegistry): JupyterFrontEndPlugin<IRenderMimeRegistry> {
  return { id: "tunelab:rendermime", autoStart: true, provides: IRenderMimeRegistry, activate: () => rendermime };
}

const tracker = new NotebookTracker({ namespace: "notebook" });
const trackerPlugin: JupyterFrontEndPlugin<INotebookTracker> = {
  id: "tunelab:notebook-tracker",
  autoStart: true,
  provides: INotebookTracker,
  activate: () => tracker,
};

// jupyterlab-manager's own controls plugin loads the module with webpack's
// require.ensure, which an esbuild bundle lacks: register it here under the
// same name and version.
const controlsPlugin: JupyterFrontEndPlugin<void> = {
  id: "tunelab:widgets-controls",
  autoStart: true,
  requires: [base.IJupyterWidgetRegistry],
  activate: (_app: JupyterFrontEnd, registry: base.IJupyterWidgetRegistry) => {
    registry.registerWidget({ name: "@jupyter-widgets/controls", version: JUPYTER_CONTROLS_VERSION, exports: controls as any });
  },
};

// anywidget's npm package is its AMD build; its JupyterLab extension does
// no more than this registration. ?anywidget=0.9 picks the older build and
// ?anywidgetAs=X registers it as version X (the version tests: what a
// student with another anywidget sees).
const anywidgetBuild = ANYWIDGET_BUILDS[params.get("anywidget") ?? ""] ?? ANYWIDGET_BUILDS.default;
const anywidgetVersion = params.get("anywidgetAs") ?? anywidgetBuild.version;
const anywidgetPlugin: JupyterFrontEndPlugin<void> = {
  id: "tunelab:anywidget",
  autoStart: true,
  requires: [base.IJupyterWidgetRegistry],
  activate: (_app: JupyterFrontEnd, registry: base.IJupyterWidgetRegistry) => {
    const exports = evaluateAmd(anywidgetBuild.source, { "@jupyter-widgets/base": base });
    registry.registerWidget({ name: "anywidget", version: anywidgetVersion, exports });
  },
};

function editorSetup(languages: EditorLanguageRegistry): { factory: CodeMirrorEditorFactory; mimeTypes: CodeMirrorMimeTypeService } {
  const themes = new EditorThemeRegistry();
  for (const t of EditorThemeRegistry.getDefaultThemes()) themes.addTheme(t);
  const extensions = new EditorExtensionRegistry();
  for (const e of EditorExtensionRegistry.getDefaultExtensions({ themes })) extensions.addExtension(e);
  // cell editors edit the shared (Yjs) model, as in JupyterLab
  extensions.addExtension({
    name: "shared-model-binding",
    factory: (options) => {
      const shared = options.model.sharedModel as any;
      return EditorExtensionRegistry.createImmutableExtension(ybinding({ ytext: shared.ysource, undoManager: shared.undoManager ?? undefined }));
    },
  });
  for (const l of EditorLanguageRegistry.getDefaultLanguages()) languages.addLanguage(l);
  return { factory: new CodeMirrorEditorFactory({ extensions, languages }), mimeTypes: new CodeMirrorMimeTypeService(languages) };
}

async function openNotebook(path: string): Promise<void> {
  const services = new ServiceManager({ serverSettings });
  const languages = new EditorLanguageRegistry();
  const { factory, mimeTypes } = editorSetup(languages);
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories, markdownParser: createMarkdownParser(languages) });
  setCellExecutor({ runCell });

  const shell = new LabShell();
  const app = new JupyterLab({ shell, serviceManager: services as any });
  app.registerPlugins([rendermimePlugin(rendermime), trackerPlugin, managerPlugin as any, baseWidgetsPlugin, outputWidgetPlugin, controlsPlugin, anywidgetPlugin]);

  const dialogs = new SessionContextDialogs();
  const commands = app.commands;
  let panel: NotebookPanel | null = null;
  commands.addCommand(RUN_ALL, {
    label: "Run All Cells",
    caption: "Run every cell of the notebook",
    execute: async () => {
      if (!panel) return false;
      stats.runAllStarted++;
      try {
        return await NotebookActions.runAll(panel.content, panel.sessionContext, dialogs);
      } finally {
        stats.runAllFinished++;
      }
    },
  });
  commands.addCommand("notebook:run-cell-and-select-next", {
    label: "Run Selected Cell",
    execute: () => (panel ? NotebookActions.runAndAdvance(panel.content, panel.sessionContext, dialogs) : false),
  });
  commands.addCommand("docmanager:save", { label: "Save", execute: () => panel?.context.save() });
  commands.addKeyBinding({ command: "notebook:run-cell-and-select-next", keys: ["Shift Enter"], selector: ".jp-Notebook" });
  commands.addKeyBinding({ command: "docmanager:save", keys: ["Accel S"], selector: ".jp-Notebook" });

  const toolbarFactory = (p: NotebookPanel): DocumentRegistry.IToolbarItem[] => [
    { name: "save", widget: new CommandToolbarButton({ commands, id: "docmanager:save", label: "Save" }) },
    { name: "run", widget: new CommandToolbarButton({ commands, id: "notebook:run-cell-and-select-next", label: "▶ Run" }) },
    { name: "run-all", widget: new CommandToolbarButton({ commands, id: RUN_ALL, label: "▶▶ Run All" }) },
    { name: "interrupt", widget: AppToolbar.createInterruptButton(p.sessionContext) },
    { name: "restart", widget: AppToolbar.createRestartButton(p.sessionContext, dialogs) },
    { name: "spacer", widget: Toolbar.createSpacerItem() },
    { name: "kernelName", widget: AppToolbar.createKernelNameItem(p.sessionContext, dialogs) },
    { name: "executionProgress", widget: ExecutionIndicator.createExecutionIndicatorItem(p) },
  ];

  const docManager = new DocumentManager({
    registry: app.docRegistry,
    manager: services as any,
    opener: {
      open: (widget) => {
        shell.add(widget, "main");
        shell.activateById(widget.id);
      },
      get opened() {
        return { connect: () => false, disconnect: () => false } as any;
      },
    },
  });
  // a student's notebook is saved when they say so (and tests never overwrite their input)
  docManager.autosave = false;
  app.docRegistry.addModelFactory(new NotebookModelFactory({}));
  app.docRegistry.addWidgetFactory(
    new NotebookWidgetFactory({
      name: "Notebook",
      modelName: "notebook",
      fileTypes: ["notebook"],
      defaultFor: ["notebook"],
      preferKernel: true,
      canStartKernel: true,
      rendermime,
      contentFactory: new NotebookPanel.ContentFactory({ editorFactory: factory.newInlineEditor }),
      mimeTypeService: mimeTypes,
      toolbarFactory,
      // every cell stays in the DOM (tests and screenshots see all outputs)
      notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode: "none" },
    }),
  );

  // the application routes key presses to `commands` (Shift-Enter, Ctrl-S)
  await app.start({ bubblingKeydown: true });
  // LabShell adds nothing to the screen until a layout is restored
  void shell.restoreLayout("single-document", new LayoutRestorer({ connector: new StateDB(), first: app.started, registry: commands }));
  document.body.appendChild(shell.node);
  shell.node.style.height = "100vh";
  window.addEventListener("resize", () => shell.update());

  panel = docManager.open(path) as NotebookPanel;
  if (!panel) throw new Error(`cannot open ${path}`);
  panel.title.label = path.split("/").pop() ?? path;
  await tracker.add(panel);
  await panel.context.ready;
  document.title = `${panel.title.label} — tunelab`;
  await panel.sessionContext.ready;
  w.tunelabLab = { ...w.tunelabLab, app, panel, services, commands, kernelStatus: () => panel!.sessionContext.session?.kernel?.status ?? "none" };
}

async function listDirectory(dir: string): Promise<void> {
  const services = new ServiceManager({ serverSettings });
  const listing = await services.contents.get(dir, { content: true });
  const items = (listing.content as Array<{ name: string; path: string; type: string }>)
    .filter((i) => i.type === "directory" ? !i.name.startsWith(".") : i.type === "notebook")
    .sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === "directory" ? -1 : 1));
  const root = document.createElement("div");
  root.className = "tunelab-launcher jp-ThemedContainer";
  const h = document.createElement("h1");
  h.textContent = `tunelab notebooks${dir ? ` — ${dir}` : ""}`;
  root.appendChild(h);
  const ul = document.createElement("ul");
  if (dir) items.unshift({ name: "..", path: dir.split("/").slice(0, -1).join("/"), type: "directory" });
  for (const i of items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.textContent = i.type === "directory" ? `${i.name}/` : i.name;
    a.href = i.type === "directory" ? pageLink({ dir: i.path }) : pageLink({ path: i.path });
    a.dataset.path = i.path;
    li.appendChild(a);
    ul.appendChild(li);
  }
  root.appendChild(ul);
  const p = document.createElement("p");
  p.className = "tunelab-launcher-note";
  p.textContent = "Open a notebook, then ▶▶ Run All (or Shift-Enter cell by cell). Widgets are rendered by JupyterLab 4's notebook and the ipywidgets manager.";
  root.appendChild(p);
  document.body.appendChild(root);
  w.tunelabLab = { ...w.tunelabLab, listing: items.map((i) => i.path) };
}

w.tunelabLab = { errors, stats, anywidgetVersion, runAllCommand: RUN_ALL };
const path = params.get("path");
w.tunelabLab.ready = (path ? openNotebook(path) : listDirectory(params.get("dir") ?? "")).then(
  () => (w.tunelabLab.state = "ready"),
  (e: unknown) => {
    w.tunelabLab.state = "failed";
    errors.push(String((e as Error)?.stack ?? e));
    const pre = document.createElement("pre");
    pre.className = "tunelab-error";
    pre.textContent = `The notebook page failed to start: ${String((e as Error)?.message ?? e)}`;
    document.body.appendChild(pre);
  },
);
