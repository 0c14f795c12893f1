"""Execute one notebook with nbclient (a real Jupyter client) and save it.

usage: run_notebook.py IN.ipynb OUT.ipynb TIMEOUT_S
Runs in IN's directory with the `tunelab` kernel; stores widget state.
Exit 0 even when a cell fails (the failing output is in OUT); exit 3 when
the kernel could not run the notebook at all.
"""
import sys, os, json, traceback
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

src, dst, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, kernel_name="tunelab", store_widget_state=True, timeout=timeout,
                        allow_errors=False, resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
status = {"ok": True, "error": None}
try:
    client.execute()
except CellExecutionError as e:
    status = {"ok": False, "error": str(e)[-4000:]}
except Exception as e:  # kernel died, timeout...
    status = {"ok": False, "error": "".join(traceback.format_exception(e))[-4000:]}
nbformat.write(nb, dst)
print(json.dumps(status))
