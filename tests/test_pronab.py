"Leakage guarantees of the ProNAB cross-validation folds, on the bundled data."
import numpy as np, pandas as pd, pytest
from omnibiote_nb.pronab import (load_pronab, load_homology, make_folds, fold_indices, check_folds, always_train,
                                 similarity, aligner, THRESHOLD)

@pytest.fixture(scope='module')
def data():
    df, H = load_pronab(), load_homology()
    return df, H, make_folds(df, pairs=H['pairs'])

def test_bundled_folds_are_make_folds(data):
    df, H, folds = data
    pd.testing.assert_frame_equal(folds.reset_index(drop=True), H['folds'])

def test_no_protein_sequence_in_train_and_test(data):
    df, _, folds = data
    for k in range(10):
        tr, te = fold_indices(df, folds, k)
        assert len(te) > 0 and len(tr) + len(te) == len(df)
        assert not set(df.protein.iloc[tr]) & set(df.protein.iloc[te]), k

def test_no_homolog_pair_split(data):
    df, H, folds = data
    hi = H['pairs'][H['pairs'].score > THRESHOLD]
    assert len(hi) > 0  # the data has homologs: the test below is not vacuous
    for k in range(10):
        tr, te = fold_indices(df, folds, k)
        trp, tep = set(df.pid.iloc[tr]), set(df.pid.iloc[te])
        for a, b in zip(hi.pid_a, hi.pid_b):
            assert not ({a, b} & tep and {a, b} & trp), (k, a, b)

def test_each_protein_tested_once_or_never(data):
    df, H, folds = data
    held = always_train(df, H['pairs'])
    times = pd.Series(0, index=sorted(set(df.pid)))
    for k in range(10): times[list(set(df.pid.iloc[fold_indices(df, folds, k)[1]]))] += 1
    assert (times[sorted(held)] == 0).all()
    assert (times.drop(sorted(held)) == 1).all()
    assert check_folds(df, folds, H['pairs']) == []

def test_stored_homolog_scores_are_real(data):
    df, H, _ = data
    P = H['proteins'].set_index('pid'); al = aligner()
    for a, b, s in H['pairs'].nlargest(3, 'score')[['pid_a', 'pid_b', 'score']].itertuples(index=False):
        assert similarity(P.protein[a], P.protein[b], al) == pytest.approx(s, abs=1e-6)

def _corrupt(df, folds, pairs, how):
    "A copy of the data and folds with one mistake a fold builder could make."
    bad, d = folds.copy(), df
    if how == 'homolog_in_test': bad.loc[bad.pid == sorted(always_train(df, pairs))[0], 'fold'] = 4
    if how == 'protein_never_tested': bad.loc[bad.index[bad.fold == 2][0], 'fold'] = -1
    if how == 'protein_in_two_folds': bad = pd.concat([bad, bad[bad.fold == 5].head(1).assign(fold=6)])
    if how == 'missing_protein': bad = bad.drop(bad.index[bad.fold == 7][0])
    if how == 'split_by_record':  # half of one protein's records get their own id, in another fold
        big = folds.pid[folds.records.idxmax()]; rows = np.flatnonzero(df.pid == big)[::2]
        d = df.copy(); d.loc[rows, 'pid'] = 'clone'
        k = (folds.fold[folds.pid == big].item() + 1) % 10
        bad = pd.concat([bad, pd.DataFrame(dict(pid=['clone'], records=[len(rows)], fold=[k]))], ignore_index=True)
    return d, bad

@pytest.mark.parametrize('how', ['homolog_in_test', 'protein_never_tested', 'protein_in_two_folds', 'missing_protein', 'split_by_record'])
def test_checker_flags_corrupt_folds(data, how):
    df, H, folds = data
    assert check_folds(*_corrupt(df, folds, H['pairs'], how), H['pairs']) != []
