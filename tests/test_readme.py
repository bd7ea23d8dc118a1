"The README points at things that exist: every notebook and figure it names, every stage it lists."
import re
from pathlib import Path
from omnibiote_nb.cli import STAGES

REPO = Path(__file__).resolve().parents[1]
README = (REPO/'README.md').read_text()

def test_named_notebooks_exist():
    named = set(re.findall(r'`(\d\d_[a-z0-9_]+)`', README))
    assert named, 'the README names no notebook'
    missing = sorted(n for n in named if not (REPO/'nbs'/f'{n}.ipynb').exists())
    assert not missing, f'README names notebooks that do not exist: {missing}'

def test_named_figures_exist():
    named = set(re.findall(r'`figures/([A-Za-z0-9_.\-]+?)(?:\.\*)?`', README))
    assert named, 'the README names no figure'
    missing = sorted(n for n in named if not list((REPO/'figures').glob(n if '.' in n else n + '.*')))
    assert not missing, f'README names figures that are not in figures/: {missing}'

def test_every_stage_is_listed():
    listed = re.findall(r'^\s*\d+\. `([a-z_]+)`:', README, re.M)
    assert listed == [name for name, _ in STAGES], f'README stages {listed} differ from the reproduce stages'
