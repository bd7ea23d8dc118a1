"CLIP-style gene/protein probe: a split without homologous proteins across it (and one that leaks is caught), the CLIP loss, the metrics, the projector round trip and the stage."
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from omnibiote_nb import joint_probe as J
from omnibiote_nb.model import OmniBioTE, preset
from omnibiote_nb.pronab import THRESHOLD, similarity
from omnibiote_nb.tokenizers import CharTokenizer, save_tokenizer

@pytest.fixture(scope='module')
def subset():
    "The first 400 distinct proteins' pairs, their homology links and groups (seconds: the screen and a few alignments)."
    df, _ = J.dedupe(J.load_pairs())
    df = df.iloc[:400].reset_index(drop=True)
    links = J.homology_links(df.protein.tolist())
    return df.assign(group=J.homology_groups(len(df), links)), links

def test_splits_have_no_protein_or_homolog_across(subset):
    df, links = subset
    assert links.linked.sum() > 0                                   # there are homologs to keep apart
    for seed in J.PRESETS['cpu']['seeds']:
        train = J.split(df.group.to_numpy(), 0.05, seed)
        assert 0.05 <= train.mean() < 0.1
        assert J.check_split(df, train, links) == []
        assert not set(df.protein[train]) & set(df.protein[~train]) and not set(df.gene[train]) & set(df.gene[~train])
        # independent of the screen's cut-off: the cross pairs that share the most 4-mers are all below the homology rule
        X = J.kmer_matrix(df.protein.tolist())
        n = np.asarray(X.sum(1)).ravel()
        C = (X[train] @ X[~train].T).toarray() / np.minimum(n[train][:, None], n[~train][None, :])
        i, j = np.unravel_index(np.argsort(C, axis=None)[::-1][:30], C.shape)
        tr, te = np.flatnonzero(train), np.flatnonzero(~train)
        assert max(similarity(df.protein[tr[a]], df.protein[te[b]]) for a, b in zip(i, j)) < THRESHOLD

def test_a_leaky_split_is_caught(subset):
    df, links = subset
    pair_level = np.random.default_rng(0).random(len(df)) < 0.5    # split by pairs, blind to the groups
    assert any('homologous' in p for p in J.check_split(df, pair_level, links))
    raw = J.load_pairs()                                            # before dedupe the same protein occurs twice
    dup = raw.protein.duplicated(keep=False).to_numpy()
    first = raw.protein[dup].iloc[0]
    train = (raw.protein == first).to_numpy() & (np.cumsum(raw.protein == first) == 1)
    assert any('protein sequence(s) on both sides' in p for p in J.check_split(raw, train, links.iloc[:0]))

def test_a_near_identical_protein_across_is_caught():
    "The same gene from two strains: one substitution apart, on opposite sides."
    df, _ = J.dedupe(J.load_pairs())
    a = df.iloc[[0, 1, 2]].reset_index(drop=True)
    strain = a.iloc[[0]].assign(protein=a.protein[0][:10] + ('A' if a.protein[0][10] != 'A' else 'G') + a.protein[0][11:], pair=-1)
    d = pd.concat([a, strain], ignore_index=True)
    links = J.homology_links(d.protein.tolist(), workers=1)
    assert J.check_split(d, np.array([True, False, False, False]), links) != []
    assert J.homology_groups(len(d), links)[0] == J.homology_groups(len(d), links)[3]

def test_clip_loss_is_clips():
    torch.manual_seed(0)
    a, b = torch.randn(6, 16), torch.randn(6, 16)
    S = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / 0.07
    ref = sum(-torch.log_softmax(S[i], 0)[i] - torch.log_softmax(S[:, i], 0)[i] for i in range(6)) / 12
    assert J.clip_loss(a, b).item() == pytest.approx(ref.item(), rel=1e-5)

def test_metrics_perfect_and_chance():
    S = np.eye(50) + 0.01 * np.random.default_rng(0).normal(size=(50, 50))
    m = J.metrics(S)
    assert (m['g2p_top1'], m['p2g_top1'], m['auroc']) == (1.0, 1.0, 1.0)
    R = np.random.default_rng(1).normal(size=(400, 400))
    m = J.metrics(R)
    assert abs(m['auroc'] - 0.5) < 0.05 and abs(m['g2p_median_rank'] - 200) < 40

def test_probe_learns_a_shared_signal_and_generalises():
    "Genes and proteins carry the same hidden 8-d signal in different coordinates: the probe finds it on held-out pairs."
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 8))
    reps = [dict(name='signal', shared=False, gene=z @ rng.normal(size=(8, 24)) + 0.3 * rng.normal(size=(400, 24)),
                 protein=z @ rng.normal(size=(8, 30)) + 0.3 * rng.normal(size=(400, 30))),
            dict(name='noise', shared=False, gene=rng.normal(size=(400, 24)), protein=rng.normal(size=(400, 30)))]
    train = np.arange(400) < 60
    p = J.PRESETS['test'] | dict(steps=300)
    P = J.fit_probes(reps, train, p)
    S = [J.to_joint(Pi, r['gene'][~train], 'gene') @ J.to_joint(Pi, r['protein'][~train], 'protein').T for Pi, r in zip(P, reps)]
    assert J.metrics(S[0])['auroc'] > 0.9 and abs(J.metrics(S[1])['auroc'] - 0.5) < 0.1

def _tiny(path, seed):
    torch.manual_seed(seed)
    OmniBioTE(preset('tiny', 49, max_len=64)).save(path)
    save_tokenizer(CharTokenizer(), path)
    return path

def test_projector_round_trip(tmp_path):
    ckpt = _tiny(tmp_path/'m'/'model', 0)
    df = J.load_pairs().query('gene_len < 400').head(30)
    df[['gene', 'protein']].to_csv(tmp_path/'pairs.csv', index=False)
    out = J.train_projector(ckpt, pairs_file=tmp_path/'pairs.csv', out=tmp_path/'proj', preset='test', progress=False)
    P, cfg = J.load_projector(out)
    assert cfg['shared'] and cfg['pairs'] == 30 and np.allclose(P['W_gene'], P['W_protein'])
    (tmp_path/'in.fa').write_text(f'>g\n{df.gene.iloc[0]}\n>p\n{df.protein.iloc[0]}\n')
    z = J.project(tmp_path/'in.fa', out, tmp_path/'z.npz', progress=False)
    g = J.embeddings(ckpt, [df.gene.iloc[0]], 'DNA', tmp_path/'e.npz', progress=False)
    assert np.allclose(z['z'][0], J.to_joint(P, g, 'gene')[0], atol=1e-5)
    (tmp_path/'bad.csv').write_text('gene,protein\nACGT,MKJ\n')
    with pytest.raises(Exception, match='row 1 protein'): J.train_projector(ckpt, pairs_file=tmp_path/'bad.csv', out=tmp_path/'p2', preset='test')

def test_stage_on_tiny_ladder(tmp_path, monkeypatch):
    "The whole stage with tiny models in place of the ladder: figures, per-split CSV and conclusions; a rerun reads the splits back."
    monkeypatch.setenv('OMNIBIOTE_RUNS', str(tmp_path))
    from omnibiote_nb.ladder import LADDER
    for name in LADDER: _tiny(tmp_path/'pretrain'/name/'model', len(name))
    paths = J.stage(tmp_path, preset='test')
    names = {p.name for p in paths}
    assert {'fig2a_joint_omnibiote.png', 'fig2b_joint_single_omic.pdf', 'joint_probe_splits.csv', 'joint_probe_conclusions.md'} <= names
    rows = pd.read_csv(tmp_path/'figures'/'joint_probe_splits.csv')
    assert {'OmniBioTE-cpu-3', 'NucBioTE + ProtBioTE-cpu-3', 'OmniBioTE-cpu-3 random init', 'length', 'composition',
            'OmniBioTE-cpu-3 + length', 'OmniBioTE-cpu-3 random init + length'} <= set(rows.representation)
    assert sorted(rows.split.unique()) == list(J.PRESETS['test']['seeds'])
    text = (tmp_path/'figures'/'joint_probe_conclusions.md').read_text()
    assert 'chance is top-1' in text and 'Contrasts' in text
    before = (tmp_path/'joint_probe'/'test'/'split0.csv').stat().st_mtime_ns
    J.stage(tmp_path, preset='test')
    assert (tmp_path/'joint_probe'/'test'/'split0.csv').stat().st_mtime_ns == before
