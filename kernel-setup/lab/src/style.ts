// JupyterLab's own styles (the light theme), as JupyterLab loads them.
import "@jupyterlab/application/style/index.css";
import "@jupyterlab/ui-components/style/index.css";
import "@jupyterlab/apputils/style/index.css";
import "@jupyterlab/codemirror/style/index.css";
import "@jupyterlab/rendermime/style/index.css";
import "@jupyterlab/outputarea/style/index.css";
import "@jupyterlab/cells/style/index.css";
import "@jupyterlab/notebook/style/index.css";
import "@jupyterlab/docmanager/style/index.css";
import "@jupyterlab/theme-light-extension/style/theme.css";
import "@jupyterlab/theme-light-extension/style/variables.css";
import "../page.css";
