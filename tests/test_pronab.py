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

# ---------------------------------------------------------------- the homology threshold sweep
from omnibiote_nb.pronab import folds_at, threshold_sweep, compare_tested, protein_organisms, SWEEP, PAIR_MIN
from omnibiote_nb.core import OmniError

@pytest.mark.parametrize('t', SWEEP)
def test_sweep_folds_do_not_leak(data, t):
    df, H, _ = data
    folds = folds_at(df, t, pairs=H['pairs'])
    assert (H['pairs'].score > t).any()  # there are homologs above t: the check is not vacuous
    assert check_folds(df, folds, H['pairs'], threshold=t) == []
    assert set(folds.pid[folds.fold == -1]) == always_train(df, H['pairs'], t)

def test_sweep_checker_sees_a_leak_at_a_stricter_threshold(data):
    df, H, _ = data
    loose = folds_at(df, 5.0, pairs=H['pairs'])  # homologs between 1.5 and 5.0 are dealt to folds here
    assert check_folds(df, loose, H['pairs'], threshold=THRESHOLD) != []

def test_sweep_at_the_current_threshold_is_the_bundled_folds(data):
    df, H, _ = data
    pd.testing.assert_frame_equal(folds_at(df, THRESHOLD, pairs=H['pairs']).reset_index(drop=True), H['folds'])
    sw = threshold_sweep(df, (THRESHOLD, 5.2), pairs=H['pairs']).set_index('threshold')
    held = H['folds'][H['folds'].fold == -1]
    assert sw.always_train_proteins[THRESHOLD] == len(held) and sw.always_train_records[THRESHOLD] == held.records.sum()
    assert (sw.leaks == 0).all() and sw.always_train_records[5.2] < sw.always_train_records[THRESHOLD]
    tested = H['folds'][H['folds'].fold >= 0].groupby('fold')
    assert sw.test_records_max[THRESHOLD] == tested.records.sum().max() and sw.test_proteins_min[THRESHOLD] == tested.size().min()

def test_threshold_below_the_stored_pairs_is_refused(data):
    df, H, _ = data
    with pytest.raises(OmniError, match='the bundled pairs stop at'): folds_at(df, PAIR_MIN - 0.1, pairs=H['pairs'])

def test_compare_tested_partitions_the_data(data):
    df, H, _ = data
    who = compare_tested(df, H['folds'], protein_organisms())
    assert who.proteins['tested'] + who.proteins['always train'] == who.proteins['all'] == df.pid.nunique()
    assert who.records['tested'] + who.records['always train'] == len(df)
    assert who.records['always train'] == df.pid.isin(always_train(df, H['pairs'])).sum()
