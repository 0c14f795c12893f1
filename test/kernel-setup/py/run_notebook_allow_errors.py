"""Executes a notebook with nbclient on the tunelab kernel, keeping going after cell errors.

Usage: /usr/bin/python3 run_notebook_allow_errors.py <in.ipynb> <out.ipynb> <kernel cwd>
"""
import sys

import nbformat
from nbclient import NotebookClient

src, dst, cwd = sys.argv[1], sys.argv[2], sys.argv[3]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, kernel_name="tunelab", timeout=120, allow_errors=True,
                        startup_timeout=90, resources={"metadata": {"path": cwd}})
client.execute()
nbformat.write(nb, dst)
print("ok")
