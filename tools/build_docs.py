"""Build the documentation site from the notebooks, without executing them.

    python tools/build_docs.py [--out docs/_build/html] [--nbs nbs] [--figures figures] [--readme README.md] [--work DIR]

Every notebook in nbs/ becomes a page showing its committed outputs and figures (myst-nb, execution off); each
exported module gets an API page (Sphinx autodoc, the names in its `__all__`), linked from the top of its notebook's
page; the landing page shows the key figures (the PNGs of figures/ that README.md names, those present) and the
status table of paper items, read from README.md's "Paper items and their status" table so it is written once; a
figures page shows every PNG in figures/ with its CSV and the generated conclusions. The Sphinx sources are staged
in WORK/src (docs/_build/src by default) from these files, the configuration is docs/conf.py, and the HTML goes to
OUT (docs/_build/html by default; myst-nb writes the notebooks' images beside it, in OUT/../jupyter_execute, before
they are copied into OUT/_images). docs/about.md says why the site is built this way.
"""
import argparse, ast, hashlib, json, re, shutil, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO/'docs'
PACKAGE = 'omnibiote_nb'
STATUS_HEADING = '## Paper items and their status'
GROUPS = {'0': 'Foundations: data, tokenizers, model, training',
          '1': 'Evaluations',
          '2': 'Representation probes',
          '3': 'Life-Code mode',
          '9': 'Command line and user API'}
DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$')


def write_if_changed(path: Path, text: str):
    "Write `text` to `path` unless it already holds it, so that Sphinx rebuilds only what changed."
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def copy_if_changed(src: Path, dst: Path):
    "Copy `src` to `dst` (keeping its time stamp) unless `dst` already has the same bytes."
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def notebooks(nbs: Path) -> list:
    "The notebooks that become pages, in their numbered order."
    return sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))


def source(cell) -> str:
    return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def directives(text: str) -> tuple:
    "nbdev's `#| key: value` lines at the top of a code cell, and the code after them."
    found = {}
    lines = text.splitlines()
    n = 0
    for line in lines:
        m = DIRECTIVE.match(line)
        if m is None:
            break
        found[m.group(1)] = m.group(2).strip()
        n += 1
    return found, '\n'.join(lines[n:]).strip('\n')


def exported_module(nb: dict) -> str | None:
    "The module a notebook exports to (its `#| default_exp`), or None."
    for cell in nb['cells']:
        if cell['cell_type'] == 'code':
            found, _ = directives(source(cell))
            if 'default_exp' in found:
                return found['default_exp']
    return None


def page_tags(found: dict, code: str, has_outputs: bool) -> list:
    "myst-nb's tags for a code cell, from its nbdev directives, as nbdev's own site would show it."
    if 'hide' in found or found.get('include', '').lower() == 'false':
        return ['remove-cell']
    if not code and not has_outputs:
        return ['remove-cell']
    tags = []
    if not code or found.get('echo', '').lower() == 'false':
        tags.append('remove-input')
    if found.get('output', '').lower() == 'false':
        tags.append('remove-output')
    return tags


def module_note(module: str, stem: str, git_url: str) -> str:
    "The line under a notebook's title that points to its module's API page and to the notebook itself."
    name = f'{PACKAGE}.{module}'
    return (f'**Module** {{doc}}`{name} <api/{module}>` (its API: every exported name with its signature). '
            f'**Source** [nbs/{stem}.ipynb]({git_url}/blob/main/nbs/{stem}.ipynb), shown with its committed outputs.')


def page_notebook(nb: dict, stem: str, git_url: str) -> dict:
    "The notebook as its page shows it: directive lines dropped, hidden cells removed, a link to its module's API."
    cells = []
    for cell in nb['cells']:
        cell = dict(cell)
        cell['metadata'] = dict(cell.get('metadata', {}))
        if cell['cell_type'] == 'code':
            found, code = directives(source(cell))
            tags = page_tags(found, code, bool(cell.get('outputs')))
            cell['source'] = code
            cell['metadata']['tags'] = sorted(set(cell['metadata'].get('tags', [])) | set(tags))
        cells.append(cell)
    module = exported_module(nb)
    if module is not None:
        note = {'cell_type': 'markdown', 'id': 'module-note', 'metadata': {}, 'source': module_note(module, stem, git_url)}
        first = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown'), -1)
        cells.insert(first + 1, note)
    metadata = dict(nb.get('metadata', {}))
    metadata.setdefault('language_info', {'name': 'python'})  # the lexer of the code cells, if the notebook omits it
    return {**nb, 'metadata': metadata, 'cells': cells}


def readme_paragraph(readme: str, start: str) -> str:
    "The README paragraph that begins with `start` (empty if there is none)."
    for para in re.split(r'\n\s*\n', readme):
        if para.strip().startswith(start):
            return para.strip()
    return ''


def intro(readme: str) -> str:
    "The README's first paragraph after its title."
    paras = [p.strip() for p in re.split(r'\n\s*\n', readme) if p.strip()]
    body = [p for p in paras if not p.startswith('#')]
    return body[0] if body else ''


def link_notebooks(text: str, stems: set, prefix: str = '') -> str:
    "Every `NN_name` in backticks that is a notebook, as a link to its page."
    def link(m):
        name = m.group(1)
        return f'{{doc}}`{name} <{prefix}{name}>`' if name in stems else m.group(0)
    return re.sub(r'`(\d\d_[A-Za-z0-9_]+)`', link, text)


def status_table(readme: str, stems: set) -> str:
    "README.md's table of paper items and their status, with its notebooks linked to their pages."
    at = readme.find(STATUS_HEADING)
    if at < 0:
        return ''
    rest = readme[at + len(STATUS_HEADING):].lstrip('\n')
    rows = []
    for line in rest.splitlines():
        if not line.startswith('|'):
            break
        rows.append(line)
    return link_notebooks('\n'.join(rows), stems)


def key_figures(readme: str, figures: Path) -> list:
    "The PNGs in `figures` that README.md names, in the README's order; every PNG there if it names none present."
    named = re.findall(r'figures/([A-Za-z0-9_\-]+?)(?:\.\*|\.png)', readme)
    stems = list(dict.fromkeys(named))
    present = [figures/f'{s}.png' for s in stems if (figures/f'{s}.png').exists()]
    return present or sorted(figures.glob('*.png'))


def drawn_in(stem: str, sources: dict) -> str | None:
    "The notebook whose code names the figure `stem` as a string, or None."
    quoted = re.compile(r'''['"]''' + re.escape(stem) + r'''['"]''')
    for nb_stem, text in sources.items():
        if quoted.search(text):
            return nb_stem
    return None


def figure_block(png: Path, sources: dict, staged: Path) -> str:
    "A MyST figure of one PNG with its caption: its name, the notebook that draws it and its CSV."
    stem = png.stem
    parts = [f'`{stem}`']
    nb_stem = drawn_in(stem, sources)
    if nb_stem is not None:
        parts.append(f'drawn in {{doc}}`{nb_stem}`')
    csv = png.with_suffix('.csv')
    if csv.exists():
        copy_if_changed(csv, staged/'figures'/csv.name)
        parts.append(f'{{download}}`data (CSV) <figures/{csv.name}>`')
    copy_if_changed(png, staged/'figures'/png.name)
    return f':::{{figure}} figures/{png.name}\n:alt: {stem}\n:width: 100%\n\n{", ".join(parts)}\n:::\n'


def grid(blocks: list) -> str:
    return '::::{container} figure-grid\n' + '\n'.join(blocks) + '::::\n' if blocks else ''


def toctrees(stems: list) -> str:
    "One toctree of notebook pages per group of the numbering (0x foundations, 1x evaluations, ...)."
    out = []
    for key, caption in GROUPS.items():
        members = [s for s in stems if s[:1] == key]
        if members:
            out.append(f':::{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n' + '\n'.join(members) + '\n:::\n')
    rest = [s for s in stems if s[:1] not in GROUPS]
    if rest:
        out.append(':::{toctree}\n:caption: Other notebooks\n:maxdepth: 1\n\n' + '\n'.join(rest) + '\n:::\n')
    return '\n'.join(out)


def landing(readme: str, title: str, stems: list, figs: list, sources: dict, staged: Path) -> str:
    "The landing page: what the project is, its key figures, the status of the paper's items, the notebooks."
    blocks = [figure_block(p, sources, staged) for p in figs]
    parts = [f'# {title}\n', intro(readme) + '\n',
             readme_paragraph(readme, 'Everything here is **CPU scale**') + '\n',
             'Each page below is a notebook of `nbs/`, shown with the outputs it was committed with (the site is '
             'built without executing them). {doc}`figures` has every figure with its data; {doc}`about` says how '
             'this site is built.\n']
    if blocks:
        parts.append('## Key figures\n\n' + grid(blocks))
    table = status_table(readme, set(stems))
    if table:
        parts.append('## Paper items and their status\n\n' + table + '\n')
    parts.append('## The notebooks\n\n' + toctrees(stems))
    parts.append(':::{toctree}\n:caption: Reference\n:maxdepth: 1\n\napi/index\nfigures\nabout\n:::\n')
    return '\n'.join(p for p in parts if p.strip())


def figures_page(figures: Path, sources: dict, staged: Path) -> str:
    "Every figure in `figures`, and the conclusions the stages generated beside them."
    pngs = sorted(figures.glob('*.png'))
    parts = ['# Figures\n', 'Every figure in `figures/`, as the reproduce stages drew it (CPU scale), with the notebook '
             'that draws it and the numbers behind it.\n']
    if pngs:
        parts.append(grid([figure_block(p, sources, staged) for p in pngs]))
    else:
        parts.append('No figures have been produced yet: `make reproduce` draws them.\n')
    notes = sorted(figures.glob('*.md'))
    if notes:
        parts.append('## What the runs show\n\nThe text each stage generated from its CSV.\n')
    for md in notes:
        text = md.read_text().strip()
        parts.append(f'### `{md.name}`\n\n{text}\n')
    return '\n'.join(parts)


def exported(path: Path) -> tuple:
    "A module's `__all__`, read from its source: (functions and classes, everything else) in their order."
    tree = ast.parse(path.read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
            names = list(ast.literal_eval(node.value))
    return [n for n in names if n in defined], [n for n in names if n not in defined]


def api_page(module: str, stem: str) -> str:
    "A module's API page; the module file's hash is in it so that a changed module rebuilds its page."
    path = REPO/PACKAGE/f'{module}.py'
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else 'absent'
    name = f'{PACKAGE}.{module}'
    _, data = exported(path) if path.exists() else ([], [])
    constants = ''
    if data:
        listed = ', '.join(f'`{n}`' for n in data)
        constants = f'Its exported constants and settings, shown with their values in the notebook: {listed}.\n\n'
    return (f'# `{name}`\n\n<!-- {path.name} sha256 {digest} -->\n\n'
            f'Exported from {{doc}}`../{stem}`, which has the prose and the checks on real data. '
            f'Every function and class in `{name}.__all__`, with its signature and docstring. {constants}'
            f'```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n   :undoc-members:\n   :show-inheritance:\n```\n')


def api_index(modules: list) -> str:
    return '# API reference\n\nOne page per module, each exported from its notebook.\n\n' + \
           ':::{toctree}\n:maxdepth: 1\n\n' + '\n'.join(m for m, _ in modules) + '\n:::\n'


def settings() -> dict:
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(REPO/'settings.ini')
    return dict(cfg['DEFAULT'])


def stage(src: Path, nbs: Path, figures: Path, readme_path: Path) -> bool:
    "Write the Sphinx sources into `src`; whether a page staged before is gone (a notebook removed or renamed)."
    cfg = settings()
    readme = readme_path.read_text() if readme_path.exists() else ''
    paths = notebooks(nbs)
    stems = [p.stem for p in paths]
    sources = {}
    modules = []
    keep = set()
    for p in paths:
        nb = json.loads(p.read_text())
        sources[p.stem] = '\n'.join(source(c) for c in nb['cells'] if c['cell_type'] == 'code')
        out = src/p.name
        write_if_changed(out, json.dumps(page_notebook(nb, p.stem, cfg['git_url']), indent=1, ensure_ascii=False))
        keep.add(out)
        module = exported_module(nb)
        if module is not None:
            modules.append((module, p.stem))
    for module, stem in modules:
        out = src/'api'/f'{module}.md'
        write_if_changed(out, api_page(module, stem))
        keep.add(out)
    write_if_changed(src/'api'/'index.md', api_index(modules))
    write_if_changed(src/'index.md', landing(readme, cfg['title'], stems, key_figures(readme, figures), sources, src))
    write_if_changed(src/'figures.md', figures_page(figures, sources, src))
    copy_if_changed(DOCS/'about.md', src/'about.md')
    keep |= {src/'api'/'index.md', src/'index.md', src/'figures.md', src/'about.md'}
    keep |= {src/'figures'/p.name for p in figures.glob('*.png')} | {src/'figures'/p.name for p in figures.glob('*.csv')}
    gone = False
    for old in list(src.rglob('*')):
        if old.is_file() and old not in keep:
            gone = gone or old.suffix in ('.ipynb', '.md')
            old.unlink()
    return gone


def build(out: Path, nbs: Path = REPO/'nbs', figures: Path = REPO/'figures', readme: Path = REPO/'README.md',
          work: Path = DOCS/'_build', jobs: str = 'auto') -> Path:
    "Stage the sources and run Sphinx; the folder of the built site."
    from sphinx.cmd.build import build_main
    src = work/'src'
    gone = stage(src, nbs, figures, readme)
    if gone and (out/'.buildinfo').exists():  # a page is gone: build afresh so that the site keeps no stale page
        shutil.rmtree(out)                     # (only ever a folder Sphinx built)
        shutil.rmtree(work/'doctrees', ignore_errors=True)
    # Warnings are errors: a broken {doc} link or a page Sphinx cannot parse fails the build, naming the page.
    args = ['-b', 'html', '-q', '-W', '--keep-going', '-c', str(DOCS), '-d', str(work/'doctrees'), '-j', jobs,
            str(src), str(out)]
    status = build_main(args)
    if status != 0:
        shutil.rmtree(work/'doctrees', ignore_errors=True)  # so that the next build reads every page again, and warns again
        raise SystemExit(f'sphinx-build failed (status {status}): the warnings above name the page (staged in {src})')
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', type=Path, default=DOCS/'_build'/'html')
    ap.add_argument('--nbs', type=Path, default=REPO/'nbs')
    ap.add_argument('--figures', type=Path, default=REPO/'figures')
    ap.add_argument('--readme', type=Path, default=REPO/'README.md')
    ap.add_argument('--work', type=Path, default=DOCS/'_build')
    ap.add_argument('--jobs', default='auto')
    a = ap.parse_args(argv)
    t0 = time.time()
    build(a.out.resolve(), a.nbs.resolve(), a.figures.resolve(), a.readme.resolve(), a.work.resolve(), a.jobs)
    print(f'site built in {a.out} ({time.time() - t0:.1f} s): open {a.out}/index.html')


if __name__ == '__main__':
    sys.exit(main())
