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

def test_numbers_it_states_about_the_data():
    "The corpus size, the JASPAR sample and the ladder's token budget that the README states, against their sources."
    import pandas as pd
    from omnibiote_nb.cli import JASPAR_CPU_PROFILES
    from omnibiote_nb.jaspar import profiles
    from omnibiote_nb.pretrain import TRAIN_PRESETS
    from omnibiote_nb.ladder import LADDER
    residues = pd.read_csv(REPO/'figures'/'table_s1_corpus.csv').residues.sum()
    assert 'a corpus of 23M residues' in README and round(residues / 1e6) == 23
    assert f'a seeded sample of {JASPAR_CPU_PROFILES} of the {len(profiles())} profiles' in README
    assert len(LADDER) == 5 and 'five runs of 8M tokens' in README
    assert {TRAIN_PRESETS[size]['tokens'] for size, _, _ in LADDER.values()} == {8_000_000}
