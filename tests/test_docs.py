"""The documentation site, checked as a reader sees it.

`make docs` (tools/build_docs.py) builds the site from the notebooks without executing them. Here it is built (an
incremental rebuild after `make docs`), then: every notebook has a page, every exported module an API page with
its names, no internal link or image of the site is broken, and in headless Chromium (Debian's `chromium`, driven
over the DevTools protocol) the landing page and the ProNAB binding page show their titles and every figure on them
loads, and the model page's formulas are typeset (MathJax, shipped in the site). A small site built from a made-up notebook with a figure in its outputs checks that outputs render inline
and that the landing page copes with a figure that README.md names but figures/ lacks. Screenshots of the rendered
pages go to the test's tmp dir and to /tmp/docs_shots/.
"""
import base64, importlib.util, io, json, os, re, shutil, subprocess, sys, time, urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO/'tools'/'build_docs.py'
def find_chromium():
    "Debian's chromium, or the browser $CHROMIUM names (set it to a missing path to see the skips)."
    if 'CHROMIUM' in os.environ:
        return os.environ['CHROMIUM'] if Path(os.environ['CHROMIUM']).exists() else None
    found = (shutil.which('chromium'), '/usr/bin/chromium', shutil.which('chromium-browser'))
    return next((p for p in found if p and Path(p).exists()), None)


CHROMIUM = find_chromium()
SHOTS = Path('/tmp/docs_shots')
_spec = importlib.util.spec_from_file_location('build_docs', BUILD)
docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs)
EVALUATION = '11_binding'
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                    "(Debian: apt-get install -y chromium); the site's browser checks need it")


def build(*args):
    "Run the site builder; fails the test with its output if it fails."
    run = subprocess.run([sys.executable, str(BUILD), *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, f'site build failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}'
    return run


@pytest.fixture(scope='module')
def site():
    "The project's site, built (or brought up to date) where `make docs` builds it."
    build()
    return REPO/'docs'/'_build'/'html'


def notebook_title(path: Path) -> str:
    "The first heading of a notebook, the page's title."
    nb = json.loads(path.read_text())
    for cell in nb['cells']:
        text = ''.join(cell['source'])
        m = re.search(r'^#\s+(.+)$', text, re.M) if cell['cell_type'] == 'markdown' else None
        if m:
            return m.group(1).strip()
    return ''


def plain(md: str) -> str:
    "Markdown inline text as it reads on the page: no backticks or emphasis marks."
    return re.sub(r'[`*]', '', md)


class Page(HTMLParser):
    "The links, image sources, ids and first h1 text of one HTML file."
    def __init__(self, text):
        super().__init__()
        self.refs, self.ids, self.imgs = [], set(), []
        self.h1, self._in_h1, self._skip = None, False, 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a:
            self.ids.add(a['id'])
        if tag == 'a' and 'name' in a:
            self.ids.add(a['name'])
        for key in ('href', 'src'):
            if a.get(key) is not None and tag in ('a', 'link', 'img', 'script', 'source'):
                self.refs.append(a[key])
        if tag == 'img':
            self.imgs.append(a.get('src'))
        if tag == 'h1' and self.h1 is None:
            self._in_h1, self.h1 = True, ''
        if self._in_h1 and tag == 'a' and 'headerlink' in (a.get('class') or ''):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == 'h1':
            self._in_h1 = False
        if tag == 'a' and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._in_h1 and not self._skip:
            self.h1 += data


def parse(path: Path) -> Page:
    return Page(path.read_text(errors='replace'))


def broken_links(root: Path) -> list:
    "Every internal href/src of every HTML file under `root` whose target file (or #anchor) does not exist."
    pages = {p.resolve(): parse(p) for p in root.rglob('*.html')}
    broken = []
    for path, page in pages.items():
        for ref in page.refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith('//'):
                continue
            target = path if not parts.path else (path.parent/unquote(parts.path)).resolve()
            if parts.path.endswith('/'):
                target = target/'index.html'
            if root.resolve() not in target.parents and target != root.resolve():
                broken.append(f'{path.relative_to(root)}: {ref} (outside the site)')
            elif not target.exists():
                broken.append(f'{path.relative_to(root)}: {ref} (no such file)')
            elif parts.fragment and target.suffix == '.html' and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f'{path.relative_to(root)}: {ref} (no such anchor)')
    return broken


def image_outputs(path: Path) -> int:
    "How many figures a notebook's committed outputs hold."
    nb = json.loads(path.read_text())
    n = 0
    for cell in nb['cells']:
        for out in cell.get('outputs', []):
            n += any(k in out.get('data', {}) for k in ('image/png', 'image/jpeg', 'image/svg+xml'))
    return n



def test_every_committed_figure_is_shown_in_a_notebook():
    "Each figures/*.png is an output of some notebook, as committed (a reader sees it on that page), byte for byte."
    shown = set()
    for path in sorted((REPO/'nbs').glob('*.ipynb')):
        for cell in json.loads(path.read_text())['cells']:
            for out in cell.get('outputs', []):
                png = out.get('data', {}).get('image/png')
                if png: shown.add(''.join(png).replace('\n', ''))
    committed = sorted((REPO/'figures').glob('*.png'))
    assert committed
    missing = [p.name for p in committed if base64.b64encode(p.read_bytes()).decode() not in shown]
    assert not missing, f'figures no notebook shows as committed (add show_figure and rewrite the outputs): {missing}'


# ---- the static checks: pages, API, links

def test_every_notebook_has_a_page(site):
    nbs = sorted((REPO/'nbs').glob('*.ipynb'))
    assert nbs
    missing = [p.name for p in nbs if not (site/f'{p.stem}.html').exists()]
    assert not missing, f'notebooks without a page: {missing}'
    for p in nbs:
        page = parse(site/f'{p.stem}.html')
        assert page.h1 is not None and page.h1.strip() == plain(notebook_title(p)), (p.name, page.h1)
        assert len(page.imgs) >= image_outputs(p), f'{p.name}: fewer images on its page than figures in its outputs'


def test_every_module_has_an_api_page(site):
    for p in sorted((REPO/'nbs').glob('*.ipynb')):
        module = docs.exported_module(json.loads(p.read_text()))
        if module is None:
            continue
        api = site/'api'/f'{module}.html'
        assert api.exists(), f'{p.name}: no API page for omnibiote_nb.{module}'
        ids = parse(api).ids
        text = api.read_text()
        code, data = docs.exported(REPO/'omnibiote_nb'/f'{module}.py')
        missing = [n for n in code if f'omnibiote_nb.{module}.{n}' not in ids]
        missing += [n for n in data if f'<span class="pre">{n}</span>' not in text]
        assert not missing, f'omnibiote_nb.{module}: exported names not on its API page: {missing}'
        assert f'api/{module}.html' in (site/f'{p.stem}.html').read_text(), f'{p.name}: its page does not link its API'


def test_no_broken_internal_links(site):
    broken = broken_links(site)
    assert not broken, f'{len(broken)} broken internal links, e.g. {broken[:10]}'


def test_landing_page_lists_status_and_figures(site):
    readme = (REPO/'README.md').read_text()
    index = (site/'index.html').read_text()
    table = docs.status_table(readme, set())
    assert table, "README.md has no 'Paper items and their status' table"
    first_item = plain(table.splitlines()[2].split('|')[1].strip())
    assert first_item in index, f'the status table is not on the landing page ({first_item!r})'
    shown = {Path(unquote(s)).name for s in parse(site/'index.html').imgs}
    for png in docs.key_figures(readme, REPO/'figures'):
        assert png.name in shown, f'key figure {png.name} is not on the landing page'


# ---- in the browser

class Chromium:
    "Headless Chromium driven over the DevTools protocol (a websocket), one tab."
    def __init__(self, profile: Path, width=1280, height=1000):
        self.width = width
        profile.mkdir(parents=True, exist_ok=True)
        args = [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--hide-scrollbars',
                '--remote-debugging-port=0', '--remote-allow-origins=*', f'--user-data-dir={profile}',
                f'--window-size={width},{height}', 'about:blank']
        port_file = profile/'DevToolsActivePort'
        port_file.unlink(missing_ok=True)  # a profile used before keeps the port of its last browser
        self.log = profile/'chromium.log'  # a file, not a pipe: a full pipe would stall the browser
        with open(self.log, 'wb') as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
        try:
            self.ws = self._connect(port_file)
            self.next_id = 0
            self.events = []
            self.call('Page.enable')
            self.call('Runtime.enable')
        except BaseException:
            self.close()
            raise

    def _connect(self, port_file: Path):
        "The websocket of the browser's tab, once the browser has written its DevTools port."
        import websocket
        deadline = time.time() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f'chromium did not start: {self.log.read_text(errors="replace")[-2000:]}')
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=10))
        url = next(t['webSocketDebuggerUrl'] for t in targets if t['type'] == 'page')
        return websocket.create_connection(url, timeout=60, suppress_origin=True)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.next_id:
                assert 'error' not in msg, f'{method}: {msg["error"]}'
                return msg['result']
            self.events.append(msg)

    def wait_for(self, event, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, msg in enumerate(self.events):
                if msg.get('method') == event:
                    del self.events[:i + 1]
                    return msg
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(event)

    def open(self, path: Path):
        self.events.clear()
        self.call('Page.navigate', url=path.resolve().as_uri())
        self.wait_for('Page.loadEventFired')

    def evaluate(self, js):
        res = self.call('Runtime.evaluate', expression=js, awaitPromise=True, returnByValue=True)
        assert 'exceptionDetails' not in res, res['exceptionDetails']
        return res['result']['value']

    def screenshot(self, dest: Path, max_height=6000):
        size = self.call('Page.getLayoutMetrics')['cssContentSize']
        clip = {'x': 0, 'y': 0, 'width': self.width, 'height': min(size['height'], max_height), 'scale': 1}
        shot = self.call('Page.captureScreenshot', format='png', captureBeyondViewport=True, clip=clip)
        dest.write_bytes(base64.b64decode(shot['data']))
        return dest

    def close(self):
        ws = getattr(self, 'ws', None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# What a person sees: the title, the main heading, and each image with whether it loaded and is on screen.
SEEN = r"""(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  const h1 = document.querySelector('article h1');
  const heading = h1 ? h1.cloneNode(true) : null;
  if (heading) heading.querySelectorAll('.headerlink').forEach(a => a.remove());
  return {title: document.title,
          h1: heading ? heading.textContent.trim() : null,
          text: document.querySelector('article') ? document.querySelector('article').innerText : '',
          tables: [...document.querySelectorAll('article table')].map(t => t.querySelectorAll('tbody tr').length),
          images: imgs.map(i => ({src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0,
                                  width: i.naturalWidth, shown: i.getBoundingClientRect().width > 0,
                                  inArticle: !!i.closest('article')}))};
})()"""


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    if CHROMIUM is None and os.environ.get('OMNIBIOTE_REQUIRE_BROWSER'):
        pytest.fail('OMNIBIOTE_REQUIRE_BROWSER is set (CI) but headless Chromium is not installed')
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")
    b = Chromium(tmp_path_factory.mktemp('chromium'))
    yield b
    b.close()


def look(browser, page: Path, shot: Path) -> dict:
    "Open `page`, read what it shows, screenshot it (into the test's dir and /tmp/docs_shots/)."
    browser.open(page)
    seen = browser.evaluate(SEEN)
    browser.screenshot(shot)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS/shot.name)
    return seen


def assert_images_load(seen, where):
    broken = [i['src'] for i in seen['images'] if not i['loaded']]
    assert not broken, f'{where}: images that do not load: {broken}'
    hidden = [i['src'] for i in seen['images'] if i['inArticle'] and not i['shown']]
    assert not hidden, f'{where}: images with no size on the page: {hidden}'


@needs_chromium
def test_landing_page_in_browser(site, browser, tmp_path):
    seen = look(browser, site/'index.html', tmp_path/'index.png')
    title = docs.settings()['title']
    assert seen['h1'] == title and title in seen['title']
    assert 'Paper items and their status' in seen['text'] and 'Key figures' in seen['text']
    readme = (REPO/'README.md').read_text()
    rows = len(docs.status_table(readme, set()).splitlines()) - 2
    assert rows in seen['tables'], f'the status table should show {rows} rows: tables {seen["tables"]}'
    figs = docs.key_figures(readme, REPO/'figures')
    figures_shown = [i for i in seen['images'] if i['inArticle']]
    assert len(figures_shown) == len(figs), (len(figures_shown), [p.name for p in figs])
    assert_images_load(seen, 'index.html')


@needs_chromium
def test_evaluation_page_in_browser(site, browser, tmp_path):
    nb = REPO/'nbs'/f'{EVALUATION}.ipynb'
    seen = look(browser, site/f'{EVALUATION}.html', tmp_path/f'{EVALUATION}.png')
    assert seen['h1'] == plain(notebook_title(nb))
    assert seen['h1'] in seen['title']
    assert 'omnibiote_nb.binding' in seen['text'], 'the page does not name its module'
    assert len([i for i in seen['images'] if i['inArticle']]) >= image_outputs(nb)
    assert_images_load(seen, f'{EVALUATION}.html')


MATH = r"""(async () => {
  if (!window.MathJax || !MathJax.startup) return {mathjax: false, rendered: 0, errors: 0};
  await MathJax.startup.promise;
  return {mathjax: true, rendered: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('mjx-merror').length};
})()"""


@needs_chromium
def test_formulas_render_offline(site, browser, tmp_path):
    "The model page's formulas are typeset by the MathJax copied into the site (no network)."
    browser.open(site/'04_model.html')
    math = browser.evaluate(MATH)
    assert math['mathjax'], 'MathJax did not load from the site'
    assert math['rendered'] > 0 and math['errors'] == 0, math


def tiny_png() -> bytes:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1, 2], [0, 1, 4])
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    return buf.getvalue()


def test_outputs_inline_and_missing_figure(tmp_path, request):
    "A notebook's figure output is on its page and loads; a figure README.md names but figures/ lacks is left out."
    png = tiny_png()
    nbs = tmp_path/'nbs'
    figs = tmp_path/'figures'
    nbs.mkdir()
    figs.mkdir()
    (figs/'present_fig.png').write_bytes(png)
    (figs/'present_fig.csv').write_text('x,y\n0,0\n')
    cells = [{'cell_type': 'markdown', 'id': 'a', 'metadata': {}, 'source': '# A made-up notebook\n\n> With a figure.'},
             {'cell_type': 'code', 'id': 'b', 'metadata': {}, 'execution_count': None, 'outputs': [],
              'source': '#| hide\nimport secret_setup'},
             {'cell_type': 'code', 'id': 'c', 'metadata': {}, 'execution_count': None, 'source': 'plot()',
              'outputs': [{'output_type': 'display_data', 'metadata': {},
                           'data': {'image/png': base64.b64encode(png).decode(), 'text/plain': '<Figure>'}},
                          {'output_type': 'stream', 'name': 'stdout', 'text': 'mean r 0.5\n'}]}]
    nb = {'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (nbs/'11_made_up.ipynb').write_text(json.dumps(nb))
    (tmp_path/'README.md').write_text('# made up\n\nA made-up project.\n\nIt draws `figures/present_fig.*` and '
                                      '`figures/absent_fig.*`.\n\n## Paper items and their status\n\n'
                                      '| paper item | notebook | status |\n|---|---|---|\n'
                                      '| Figure 9 | `11_made_up` | done |\n')
    out = tmp_path/'site'
    build('--out', out, '--nbs', nbs, '--figures', figs, '--readme', tmp_path/'README.md', '--work', tmp_path/'work')
    assert not broken_links(out), broken_links(out)
    page = (out/'11_made_up.html').read_text()
    assert 'mean r 0.5' in page and 'secret_setup' not in page and '#| hide' not in page
    assert len(parse(out/'11_made_up.html').imgs) == 1
    index = parse(out/'index.html')
    assert [Path(s).name for s in index.imgs] == ['present_fig.png']
    assert '11_made_up.html' in (out/'index.html').read_text()
    if CHROMIUM is None:
        pytest.skip('headless Chromium is not installed: the rendered check of the made-up page is skipped')
    b = Chromium(tmp_path/'chromium')
    try:
        seen = look(b, out/'11_made_up.html', tmp_path/'made_up.png')
        assert seen['h1'] == 'A made-up notebook'
        assert [i['loaded'] for i in seen['images'] if i['inArticle']] == [True]
        assert 'mean r 0.5' in seen['text']
        seen = look(b, out/'index.html', tmp_path/'made_up_index.png')
        assert_images_load(seen, 'made-up index.html')
    finally:
        b.close()
