"""The notebooks' committed outputs: execute each notebook under the test profile and write its outputs, or check them.

    python tools/nb_outputs.py write [nbs/X.ipynb ...]   execute (IN_TEST=1), store the outputs, clean the notebook
    python tools/nb_outputs.py check [nbs/X.ipynb ...]   execute, and fail if any cell's outputs differ from the committed

Every notebook is executed from nbs/ as nbdev_test does, skipping cells marked `#| eval: false` or with a test flag of
settings.ini (`notest`, `slow`). Outputs are made comparable before they are stored: execution counts and per-output
metadata go, and the two things that differ from machine to machine and run to run are written as placeholders:
the repository's path (`<repo>`) and temporary folders (`<tmp>`); what goes to stderr (logging, progress bars) is not
kept. Anything else that differs between runs (timings,
progress bars, memory addresses, random ids) is a defect of the notebook, and `check` reports it. A code cell that
runs longer than CELL_SECONDS under the test profile fails too: it trains or evaluates at full size and must be
guarded by `IN_TEST` (the figure cells read committed CSVs and take seconds).
"""
import copy, json, os, re, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBS = REPO / 'nbs'
CELL_SECONDS = 90
SKIP_FLAGS = {'notest', 'slow'}
_TMP = re.compile(re.escape(tempfile.gettempdir()) + r'/[^/\s\'"\\)\],:]+')   # a temporary folder, whole
_ADDR = re.compile(r' at 0x[0-9a-f]{6,}')


def directives(source: str) -> dict:
    "The `#| key: value` lines at the top of a code cell."
    out = {}
    for line in source.splitlines():
        if not line.startswith('#|'):
            break
        key, _, value = line[2:].strip().partition(':')
        out[key.strip()] = value.strip()
    return out


def skipped(cell) -> bool:
    "Cells nbdev_test does not run."
    if cell['cell_type'] != 'code':
        return True
    d = directives(''.join(cell['source']))
    return d.get('eval', '').lower() == 'false' or bool(SKIP_FLAGS & d.keys())


def _text(s: str) -> str:
    "Machine- and run-specific parts of an output's text as placeholders."
    s = s.replace(str(REPO), '<repo>')
    s = _TMP.sub('<tmp>', s)
    return _ADDR.sub(' at 0x…', s)


def _lines(s) -> list:
    "Notebook-format text: a list of lines that keep their newlines."
    return (''.join(s) if isinstance(s, list) else s).splitlines(keepends=True)


def normalise(outputs) -> list:
    "Outputs as they are committed: no execution counts or metadata, placeholders for paths."
    out = []
    for o in outputs:
        o = dict(copy.deepcopy(o))
        o.pop('execution_count', None)
        if o.get('output_type') in ('execute_result', 'display_data'):
            o['metadata'] = {}
            data = {}
            for mime, v in o.get('data', {}).items():
                data[mime] = v if mime.startswith('image/') and mime != 'image/svg+xml' else _lines(_text(''.join(v) if isinstance(v, list) else v))
            o['data'] = data
            if o['output_type'] == 'execute_result':
                o['execution_count'] = None
        elif o.get('output_type') == 'stream':
            if o.get('name') == 'stderr':
                continue                       # logging and progress bars: timings and bars, not results
            o['text'] = _lines(_text(''.join(o['text']) if isinstance(o['text'], list) else o['text']))
        out.append(o)
    return out


def execute(path) -> dict:
    "Run the notebook at `path` under the test profile; {cell index: (outputs, seconds)} and the first error, if any."
    os.environ['IN_TEST'] = '1'
    sys.path.insert(0, str(REPO))
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    path = Path(path).resolve()
    nb = read_nb(path)
    shell = CaptureShell(path)
    results, error = {}, None
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for i, cell in enumerate(nb.cells):
            if skipped(cell):
                continue
            cell['outputs'] = []
            t0 = time.time()
            shell.cell(cell)
            seconds = time.time() - t0
            results[i] = (normalise(cell.get('outputs', [])), seconds)
            if shell.exc:
                error = f'{path.name}: cell {i} raised {type(shell.exc).__name__}: {str(shell.exc)[:200]}'
                break
    finally:
        os.chdir(cwd)
    return dict(path=str(path), results=results, error=error)


def _committed(path) -> list:
    return json.loads(Path(path).read_text())['cells']


def _first_difference(a, b) -> str:
    a_text, b_text = json.dumps(a, indent=1).splitlines(), json.dumps(b, indent=1).splitlines()
    for x, y in zip(a_text, b_text):
        if x != y:
            return f'committed {x.strip()[:100]!r}, now {y.strip()[:100]!r}'
    return f'committed {len(a)} outputs, now {len(b)}'


def problems(run) -> list:
    "What differs between a run's outputs and the committed ones, and cells too slow for the test profile."
    cells, found = _committed(run['path']), []
    name = Path(run['path']).name
    if run['error']:
        found.append(run['error'])
    for i, (outputs, seconds) in run['results'].items():
        if seconds > CELL_SECONDS:
            found.append(f'{name}: cell {i} took {seconds:.0f} s under IN_TEST (limit {CELL_SECONDS} s): guard its training by IN_TEST')
        committed = normalise(cells[i].get('outputs', []))
        if committed != outputs:
            found.append(f'{name}: cell {i} outputs differ: {_first_difference(committed, outputs)}')
    return found


def write(run):
    "Store a run's outputs in its notebook, then let nbdev_clean canonicalise it."
    path = Path(run['path'])
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code':
            continue
        cell['outputs'] = run['results'][i][0] if i in run['results'] else []
        cell['execution_count'] = None
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    os.system(f'{sys.executable} -m nbdev.clean --fname {path} > /dev/null 2>&1 || {Path(sys.executable).parent}/nbdev_clean --fname {path}')


def execute_apart(path) -> dict:
    "`execute` in a fresh Python process (a notebook may replace `__main__` and leave state behind)."
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)/'run.json'
        subprocess.run([sys.executable, __file__, 'run-one', str(path), str(out)], check=False)
        if not out.exists():
            return dict(path=str(Path(path).resolve()), results={}, error=f'{Path(path).name}: the process running it died')
        run = json.loads(out.read_text())
    run['results'] = {int(k): tuple(v) for k, v in run['results'].items()}
    return run


def main(argv):
    if argv and argv[0] == 'run-one':
        Path(argv[2]).write_text(json.dumps(execute(argv[1])))
        return 0
    if not argv or argv[0] not in ('write', 'check'):
        print(__doc__)
        return 2
    paths = [Path(p) for p in argv[1:]] or sorted(NBS.glob('*.ipynb'))
    with ThreadPoolExecutor(max_workers=int(os.environ.get('NB_WORKERS', 2))) as pool:
        runs = list(pool.map(execute_apart, paths))
    found = []
    for run in runs:
        if argv[0] == 'write' and not run['error']:
            write(run)
        found += problems(run) if argv[0] == 'check' else ([run['error']] if run['error'] else [])
    for p in found:
        print(p)
    print(f'{len(paths)} notebooks, {len(found)} problems')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
