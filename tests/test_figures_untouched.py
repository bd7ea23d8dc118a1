"Figure functions write under the run directory; only inside core.reproducing() (the reproduce stages) do they write figures/."
import hashlib
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt, numpy as np, pandas as pd, pytest
from omnibiote_nb import core
from omnibiote_nb.core import REPO, reproducing, figures_dir, runs_dir, save_figure

FIGURES = REPO/'figures'

def hashes(d: Path) -> dict:
    "sha256 of every file under `d`, by relative path."
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob('*')) if p.is_file()}

def jaspar_results(path: Path) -> Path:
    "A tiny per-mutant results CSV as run_jaspar writes it: 2 models x 2 folds x 2 rates x 3 mutants."
    rng = np.random.default_rng(0)
    rows = [dict(model=m, flops=f, fold=k, rate=r, matrix_id='MA0001.1', k=i, ddG=rng.normal(0, 0.1))
            for m, f in (('OmniBioTE-a', 1e12), ('OmniBioTE-b', 4e12)) for k in range(2) for r in (0.05, 0.5) for i in range(3)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path

def binding_results() -> pd.DataFrame:
    "A tiny run_binding results frame: two OmniBioTE sizes, the single-omic control and two baselines, 2 folds each."
    rows = [dict(model=m, family=fam, size=s, flops=f, fold=k, pearson=0.1 + 0.05 * k, mae=1.8 - 0.1 * k, seconds=1.0)
            for m, fam, s, f in (('OmniBioTE-cpu-2', 'omnibiote', 'cpu-2', 1e12), ('OmniBioTE-cpu-3', 'omnibiote', 'cpu-3', 3e12),
                                 ('ProtBioTE+NucBioTE-cpu-2', 'single', 'cpu-2', 1e12), ('mean', 'mean', '', np.nan), ('ridge', 'ridge', '', np.nan))
            for k in range(2)]
    return pd.DataFrame(rows)

def ladder_frame() -> pd.DataFrame:
    "A tiny ladder table as ladder.ladder_table gives it: two sizes of each model, both modalities where it has them."
    rows = [dict(run=f'{p}-{m}', model=model, preset=p, modality=mod, tokens=2_000_000, tokenizer='char', flops=f,
                 val_loss=2.9 - 0.01 * i, se=0.01, unigram=2.95, unigram_seen=2.96, within=2.9, leak=0.01)
            for i, (p, f) in enumerate((('cpu-2', 1e12), ('cpu-3', 3e12)))
            for m, model, mods in (('multi', 'OmniBioTE', ('nuc', 'prot')), ('prot', 'ProtBioTE', ('prot',)), ('nuc', 'NucBioTE', ('nuc',)))
            for mod in mods]
    return pd.DataFrame(rows)

def draw_everything(tmp: Path) -> list[Path]:
    "Call every figure function the notebooks export, each with its default output folder; the paths they wrote."
    from omnibiote_nb import binding, jaspar, ladder, data, tokenizers
    fig, ax = plt.subplots(); ax.plot([0, 1], [1, 0])
    paths = save_figure(fig, pd.DataFrame(dict(x=[0, 1], y=[1, 0])), 'probe')
    paths += list(jaspar.figure_3c(jaspar_results(tmp/'jaspar_ddG.csv')).values())
    res = binding_results()
    paths += binding.plot_binding(res)
    binding.paper_table(res); paths.append(figures_dir()/'table_pronab.csv')
    lt = ladder_frame()
    paths += ladder.plot_ladder(lt) + ladder.plot_protein_breakdown(lt[lt.modality == 'prot'])
    paths += data.plot_corpus_stats(pd.DataFrame(dict(tag=['DNA', 'protein'], records=[10, 20], residues=[1000, 5000])))
    pieces = pd.DataFrame(dict(modality=['nuc', 'nuc', 'prot', 'prot'], piece_length=[1, 2, 1, 2], vocab_pieces=[4, 10, 20, 30],
                               heldout_tokens=[5, 7, 9, 3], heldout_residues=[5, 14, 9, 6]))
    paths += tokenizers.plot_piece_stats(pieces)
    return [Path(p) for p in paths]

DATA_FIGURES = {'pronab_homology_scores', 'pronab_threshold_sweep', 'tokenizers_bpe_pieces', 'contact_distances', 'jaspar_crop'}

def draw_data_figures() -> list[Path]:
    "The figures drawn from bundled data alone, through the one function a reproduce stage calls, and each on its own."
    from omnibiote_nb import jaspar
    paths = jaspar.data_figures()
    assert {p.stem for p in paths} == DATA_FIGURES and len(paths) == 3 * len(DATA_FIGURES), paths
    return paths

@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv('OMNIBIOTE_RUNS', str(tmp_path/'runs'))
    monkeypatch.setattr(core, 'IN_TEST', False)  # as a notebook run by hand, not under nbdev_test
    return tmp_path/'runs'

def test_figure_functions_leave_figures_untouched(runs, tmp_path):
    before = hashes(FIGURES)
    assert len(before) > 10  # the committed figures are there to be protected
    assert figures_dir() == runs/'figures'  # checked before anything is drawn, so a routing bug cannot overwrite figures/
    paths = draw_everything(tmp_path)
    assert hashes(FIGURES) == before  # byte for byte, and no file added or removed
    assert len(paths) >= 20 and all(p.exists() and p.parent == runs/'figures' for p in paths), paths
    assert {'figure_3c.png', 'fig3a_pronab_pearson.pdf', 'pretrain_ladder.csv', 'table_pronab.csv'} <= {p.name for p in paths}

def test_data_figures_leave_figures_untouched(runs):
    "pronab.homology_figures, tokenizers.piece_figure, structures.contact_figure, jaspar.crop_figure (all through jaspar.data_figures), outside reproducing()."
    before = hashes(FIGURES)
    assert figures_dir() == runs/'figures'
    paths = draw_data_figures()   # data_figures calls each of them
    assert hashes(FIGURES) == before
    assert all(p.exists() and p.parent == runs/'figures' for p in paths), paths
    assert {p.stem for p in paths} == DATA_FIGURES

def test_reproducing_routes_to_the_repository_figures(runs, tmp_path, monkeypatch):
    assert figures_dir() == runs/'figures'
    with reproducing(): assert figures_dir() == FIGURES  # routed there; nothing written in this test
    assert figures_dir() == runs/'figures'
    monkeypatch.setattr(core, 'IN_TEST', True)  # under nbdev_test even reproducing() writes nothing into the repository
    with reproducing(): assert figures_dir() == runs/'figures'

def test_reproducing_writes_figures_of_the_repository(runs, tmp_path, monkeypatch):
    "In a temporary copy of the repository root, the figure functions inside reproducing() write its figures/, and only there."
    before = hashes(FIGURES)
    fake = tmp_path/'repo'; (fake/'figures').mkdir(parents=True)
    monkeypatch.setattr(core, 'REPO', fake)
    with reproducing(): paths = draw_everything(tmp_path)
    assert all(p.exists() and p.parent == fake/'figures' for p in paths), paths
    assert sorted(hashes(fake/'figures')) == sorted({p.name for p in paths})
    assert not (runs/'figures').exists() and hashes(FIGURES) == before
    with pytest.raises(KeyError):
        with reproducing(): raise KeyError('a stage fails')
    assert figures_dir() == runs/'figures'  # a failing stage leaves reproducing()

def test_data_figures_inside_reproducing_write_the_repository(runs, tmp_path, monkeypatch):
    "Inside reproducing(), data_figures writes a temporary repository's figures/: the committed ones' names, nothing else."
    before = hashes(FIGURES)
    fake = tmp_path/'repo'; (fake/'figures').mkdir(parents=True)
    monkeypatch.setenv('OMNIBIOTE_DATA', str(REPO/'data_manifests'))  # the real bundled data; only figures/ is the temporary one
    monkeypatch.setattr(core, 'REPO', fake)
    with reproducing(): paths = draw_data_figures()
    assert all(p.exists() and p.parent == fake/'figures' for p in paths), paths
    assert sorted(hashes(fake/'figures')) == sorted(p.name for p in paths)
    assert not (runs/'figures').exists() and hashes(FIGURES) == before
    committed = {p.name for p in FIGURES.iterdir() if p.stem in DATA_FIGURES and p.suffix == '.csv'}
    for name in committed:   # where a committed CSV exists, the function draws the same numbers
        pd.testing.assert_frame_equal(pd.read_csv(fake/'figures'/name), pd.read_csv(FIGURES/name), check_dtype=False)
