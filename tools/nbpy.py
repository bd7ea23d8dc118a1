#!/usr/bin/env python3
"""Convert a notebook to a percent-format script and back, for editing notebooks as text.

    python tools/nbpy.py to-py nbs/01_data.ipynb /tmp/01_data.py
    python tools/nbpy.py to-nb /tmp/01_data.py nbs/01_data.ipynb

Cells are separated by lines `# %%` (code) and `# %% [markdown]` (markdown; each line starts with `# `).
The notebook is the source of truth; the script is a scratch copy.
"""
import json, sys
from pathlib import Path

META = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}

def to_py(nb_path, py_path):
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            out.append('# %% [markdown]\n' + '\n'.join(('# ' + l) if l else '#' for l in src.split('\n')))
        else: out.append('# %%\n' + src)
    Path(py_path).write_text('\n\n'.join(out) + '\n')

def _keep_ids(cells, nb_path):
    "Give cells the ids they had in the notebook being replaced (same source, else same place), so edits do not churn ids;"
    "a code cell whose source is unchanged keeps its outputs (tools/nb_outputs.py write refreshes the others)."
    if not Path(nb_path).exists(): return
    old = json.loads(Path(nb_path).read_text())['cells']
    by_src, outputs = {}, {}
    for c in old:
        by_src.setdefault(''.join(c['source']), c.get('id'))
        if c['cell_type'] == 'code': outputs.setdefault(''.join(c['source']), c.get('outputs', []))
    used = set()
    for c in cells:
        i = by_src.get(''.join(c['source']))
        if i and i not in used: c['id'] = i; used.add(i)
        if c['cell_type'] == 'code': c['outputs'] = outputs.get(''.join(c['source']), [])
    for k, c in enumerate(cells):
        i = old[k].get('id') if k < len(old) else None
        if 'id' not in c and i and i not in used: c['id'] = i; used.add(i)

def to_nb(py_path, nb_path):
    cells, cur, kind = [], [], None
    def flush():
        if kind is None: return
        lines = cur[:]
        while lines and not lines[-1].strip(): lines.pop()
        while lines and not lines[0].strip(): lines.pop(0)
        if kind == 'markdown': lines = [l[2:] if l.startswith('# ') else l.lstrip('#') for l in lines]
        src = '\n'.join(lines)
        c = {"cell_type": kind, "metadata": {}, "source": src.splitlines(True)}
        if kind == 'code': c.update(execution_count=None, outputs=[])
        cells.append(c)
    for line in Path(py_path).read_text().split('\n'):
        if line.startswith('# %%'):
            flush(); cur = []; kind = 'markdown' if '[markdown]' in line else 'code'
        elif kind is not None: cur.append(line)
    flush()
    _keep_ids(cells, nb_path)
    nb = {"cells": cells, "metadata": META, "nbformat": 4, "nbformat_minor": 5}
    Path(nb_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    cmd, a, b = sys.argv[1:4]
    {'to-py': to_py, 'to-nb': to_nb}[cmd](a, b)
