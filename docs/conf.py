"Sphinx configuration of the documentation site; tools/build_docs.py stages the sources and runs Sphinx with it."
import configparser, hashlib, importlib.util, re, shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_cfg = configparser.ConfigParser()
_cfg.read(REPO/'settings.ini')
_s = _cfg['DEFAULT']

project = _s['title']
author = _s['author']
copyright = _s['copyright']
release = version = _s['version']
html_title = f"{_s['title']} {_s['version']}"
html_baseurl = _s['doc_host'].rstrip('/') + '/' + _s['doc_baseurl'].strip('/') + '/'

# githubpages writes .nojekyll, so that GitHub Pages serves _static/ and _images/.
extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.mathjax', 'sphinx.ext.githubpages']

# The notebooks are shown with the outputs they were committed with: the site never executes them.
nb_execution_mode = 'off'
nb_merge_streams = True
myst_enable_extensions = ['colon_fence', 'dollarmath']
myst_heading_anchors = 3
exclude_patterns = ['_build', '**.ipynb_checkpoints']
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']

autodoc_default_options = {'members': True, 'undoc-members': True, 'no-value': True}
autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_inherit_docstrings = False
toc_object_entries = False

html_theme = 'furo'
html_static_path = ['_static']
html_css_files = ['site.css']
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    'footer_icons': [{'name': 'GitHub', 'url': _s['git_url'], 'html': 'source on GitHub', 'class': ''}],
}

# MathJax from the sphinx-mathjax-offline wheel (pure data, from PyPI), copied into the site: pages render their
# formulas with no network. Only the parts the TeX-to-CHTML component loads are copied.
_MATHJAX_PARTS = ['tex-chtml.js', 'output/chtml/fonts/woff-v2', 'input/tex/extensions', 'ui', 'a11y']
mathjax_path = 'mathjax/tex-chtml.js'


def _mathjax_root():
    spec = importlib.util.find_spec('sphinx-mathjax-offline')
    return None if spec is None else Path(spec.origin).parent/'static'/'mathjax'


def _copy_mathjax(app, exc):
    root = _mathjax_root()
    if exc is not None or root is None:
        return
    dest = Path(app.outdir)/'_static'/'mathjax'
    for part in _MATHJAX_PARTS:
        src = root/part
        if src.is_dir():
            shutil.copytree(src, dest/part, dirs_exist_ok=True)
        elif src.exists():
            (dest/part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest/part)


_CODE_SPAN = re.compile(r'(`+)(.+?)\1')
_RST_SPECIAL = re.compile(r'([\\*|])')
_RST_REFERENCE = re.compile(r'(\w)_(?=\W|$)')


def _rst_text(text: str) -> str:
    "Plain text as reST reads it literally: `*`, `|`, backslashes and `name_` are not markup."
    return _RST_REFERENCE.sub(r'\1\\_', _RST_SPECIAL.sub(r'\\\1', text))


def markdown_docstring(line: str) -> str:
    "A docstring line as nbdev writes it (plain text with Markdown code spans), as reST: code spans as literals."
    out = []
    at = 0
    for m in _CODE_SPAN.finditer(line):
        out.append(_rst_text(line[at:m.start()]))
        code = m.group(2).strip()
        before = '\\ ' if m.start() > 0 and line[m.start() - 1].isalnum() else ''
        after = '\\ ' if m.end() < len(line) and line[m.end()].isalnum() else ''
        out.append(f'{before}``{code}``{after}' if code else m.group(0))
        at = m.end()
    out.append(_rst_text(line[at:]))
    return ''.join(out)


def _docstrings_as_markdown(app, what, name, obj, options, lines):
    lines[:] = [markdown_docstring(line) for line in lines]


def _import_documented(app, env, docnames):
    "Import the modules whose API pages are to be read, once, before Sphinx forks its readers (who share them)."
    for doc in docnames:
        if doc.startswith('api/') and doc != 'api/index':
            importlib.import_module(f"{_s['lib_name']}.{doc.removeprefix('api/')}")


def setup(app):
    # Any change to this file (its hooks too, which Sphinx does not compare) rebuilds every page.
    app.add_config_value('docs_conf_digest', '', 'env')
    app.config.docs_conf_digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    app.connect('env-before-read-docs', _import_documented)
    app.connect('autodoc-process-docstring', _docstrings_as_markdown)
    app.connect('build-finished', _copy_mathjax)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
