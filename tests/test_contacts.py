"Contact task (14_contacts): the data loader, leak-free folds (and a leaky split that must fail), the labels' bounds."
import numpy as np, pandas as pd
import pytest
from omnibiote_nb.pronab import similarity, THRESHOLD
from omnibiote_nb.contacts import contact_data, contact_folds, check_contact_folds, homology_pairs, homolog_groups, label_table, random_f1

@pytest.fixture(scope='module')
def cd(): return contact_data()

@pytest.fixture(scope='module')
def pairs(cd): return homology_pairs(cd)

def test_contact_data(cd):
    assert len(cd) == 429 and cd.pid.nunique() == 422
    assert all(len(d) == len(p) for d, p in zip(cd.min_distance, cd.protein))
    assert {'complex_id', 'pid', 'protein', 'na_seqs', 'na_types', 'na_type', 'min_distance'} <= set(cd.columns)

def test_bundled_scores_are_the_pronab_rule(cd, pairs):
    seq = cd.groupby('pid').protein.first()
    for r in pairs.sample(5, random_state=0).itertuples():
        assert abs(similarity(seq[r.pid_a], seq[r.pid_b]) - r.score) < 1e-5
    listed = set(zip(pairs.pid_a, pairs.pid_b))
    rng = np.random.default_rng(0)
    for _ in range(5):  # an unlisted pair scores below PAIR_MIN (0)
        a, b = sorted(rng.choice(seq.index, 2, replace=False))
        if (a, b) not in listed: assert similarity(seq[a], seq[b]) < 0

def test_folds_do_not_leak(cd, pairs):
    folds = contact_folds(cd)
    assert check_contact_folds(cd, folds, pairs) == []
    assert len(folds) == 10
    assert np.array_equal(np.sort(np.concatenate([te for _, te in folds])), np.arange(len(cd)))
    hi = pairs[pairs.score > THRESHOLD]
    for tr, te in folds:
        assert not set(cd.protein.iloc[tr]) & set(cd.protein.iloc[te])
        trp, tep = set(cd.pid.iloc[tr]), set(cd.pid.iloc[te])
        assert not any((a in trp and b in tep) or (a in tep and b in trp) for a, b in zip(hi.pid_a, hi.pid_b))
    assert [len(te) for _, te in contact_folds(cd, seed=0)] == [len(te) for _, te in folds]  # deterministic

def test_leaky_splits_fail(cd, pairs):
    perm = np.random.default_rng(0).permutation(len(cd))
    leaky = [(np.setdiff1d(perm, perm[k::10]), perm[k::10]) for k in range(10)]
    problems = check_contact_folds(cd, leaky, pairs)
    assert any('protein sequences in both' in p for p in problems) and any('split between' in p for p in problems)
    # a split that moves only one homolog (a different sequence) of a group to the test part
    folds = contact_folds(cd)
    g = cd.pid.map(homolog_groups(cd, pairs))
    big = g.value_counts().index[0]
    rows = np.flatnonzero(g == big)
    tr, te = folds[0]
    moved = [(np.setdiff1d(np.union1d(tr, rows), rows[:1]), np.union1d(np.setdiff1d(te, rows), rows[:1]))] + folds[1:]
    problems = check_contact_folds(cd, moved, pairs)
    assert any('split between' in p for p in problems), problems
    other = next(i for i in range(1, len(cd)) if not any(0 in te and i in te for _, te in folds))
    same = cd.copy(); same.loc[other, 'protein'] = cd.protein[0]  # the sequence of complex 0 also in another fold
    assert any('protein sequences in both' in p for p in check_contact_folds(same, folds, pairs))

def test_random_guess_bound(cd):
    t = label_table(cd)
    ours = t[t.source != 'paper'].set_index('threshold')
    paper = t[t.source == 'paper'].set_index('threshold')
    assert (abs(ours.pos_neg - paper.pos_neg) < 0.01).all()
    assert (abs(ours.random_f1 - paper.random_f1) < 0.01).all()
    assert random_f1(0.5) == pytest.approx(2 / 3)

def test_cutoff_and_f1():
    from omnibiote_nb.contacts import best_cutoff, f1_scores
    y, p = np.array([1, 0, 1, 0, 0, 1]), np.array([.9, .8, .7, .2, .1, .7])
    assert best_cutoff(y, p) == 0.7  # ties at 0.7 are called together
    assert f1_scores(y, p, 0.7)['f1'] == pytest.approx(2 * 0.75 * 1 / 1.75)
    assert f1_scores(y, np.zeros(6), 0)['f1'] == pytest.approx(random_f1(0.5))

def test_every_residue_scored_once_under_bpe(cd):
    from omnibiote_nb.tokenizers import BPETokenizer
    from omnibiote_nb.contacts import encode_complexes, per_residue
    tok, rows = BPETokenizer.load(), cd[cd.length > 300].head(3)
    ws = encode_complexes(tok, rows, 128, 60, 8)
    assert max(len(w['ids']) for w in ws) <= 128
    outs = [np.arange(len(w['ids']), dtype=np.float32)[:, None] for w in ws]  # each token's output: its position
    res = per_residue(ws, outs, range(len(rows)))
    assert [len(r) for r in res] == rows.length.tolist()
    for w in ws:  # the tokens covering a window's residues spell the window
        assert ''.join(tok.pieces[t] for t in w['ids'][np.unique(w['index'])]) == rows.protein.iloc[w['row']][w['start']:w['end']]

def test_committed_figures_agree():
    from omnibiote_nb.core import REPO
    f = REPO/'figures'/'contacts_folds.csv'
    if not f.exists(): pytest.skip('no committed contact results yet')
    r = pd.read_csv(f)
    assert set(r.threshold) == {4.0, 6.0, 8.0} and r.groupby(['model', 'threshold']).fold.nunique().eq(10).all()
    t = pd.read_csv(REPO/'figures'/'contacts_fig3d.csv')
    assert {'ours', 'paper'} <= set(t.source)
    s = r.groupby(['model', 'threshold']).f1.mean()
    ours = t[(t.source == 'ours') & t.folds.notna()].set_index(['model', 'threshold']).f1
    assert (abs(ours - s[ours.index]) < 1e-9).all()
    assert (REPO/'figures'/'contacts_conclusions.md').exists() and (REPO/'figures'/'fig2d_contact_example.png').exists()
