"""What the tokenizers notebook cannot test: that the shipped BPE models travel with the package.

The models live in omnibiote_nb/assets/bpe/ and reach a wheel only through MANIFEST.in (setup.py has
include_package_data=True). We build a wheel from a copy of the repository and load the models from it.
"""
import shutil, subprocess, sys, zipfile
from pathlib import Path

from omnibiote_nb.core import REPO
from omnibiote_nb.tokenizers import BPETokenizer

ASSETS = ['omnibiote_nb/assets/bpe/nuc.model', 'omnibiote_nb/assets/bpe/prot.model', 'omnibiote_nb/assets/bpe/settings.json']


def test_wheel_ships_bpe_models(tmp_path):
    src = tmp_path/'src'; src.mkdir()
    for f in ('setup.py', 'settings.ini', 'MANIFEST.in'): shutil.copy(REPO/f, src/f)
    shutil.copytree(REPO/'omnibiote_nb', src/'omnibiote_nb', ignore=shutil.ignore_patterns('__pycache__'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '.', '-w', str(tmp_path/'w')],
                   cwd=src, check=True, capture_output=True)
    whl = zipfile.ZipFile(next((tmp_path/'w').glob('*.whl')))
    assert set(ASSETS) <= set(whl.namelist())
    whl.extractall(tmp_path/'x')
    tok = BPETokenizer.load(tmp_path/'x'/'omnibiote_nb'/'assets'/'bpe')
    assert tok.vocab_size == 4096
    assert tok.decode(tok.encode('MKVLAAGIC', 'protein')) == ('protein', 'MKVLAAGIC')
