"ProNAB dG: leakage-free folds, training-only target statistics, fine-tuning learns, file prediction reports bad rows."
import json
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from omnibiote_nb.binding import pronab_folds, fold_parts, fit_fold, run_binding, PRESETS
from omnibiote_nb.predict import train_dg, predict_dg_file
from omnibiote_nb.finetune import Finetuner, FinetuneConfig, finetune, fit_scaling
from omnibiote_nb.model import OmniBioTE, preset
from omnibiote_nb.pronab import load_homology, check_folds, fold_indices

def tiny(seed=0):
    torch.manual_seed(seed); return OmniBioTE(preset('tiny', 49, max_len=64))

@pytest.fixture(scope='module')
def data(): return pronab_folds()

def test_folds_used_have_no_protein_leakage(data):
    df, folds = data
    assert check_folds(df, folds, load_homology()['pairs']) == []
    for k in range(10):
        for p in ('paper', 'cpu'):
            tr, te = fold_parts(df, folds, k, PRESETS[p])
            assert len(te) and not set(df.protein.iloc[tr]) & set(df.protein.iloc[te]), (k, p)
            assert set(tr) <= set(fold_indices(df, folds, k)[0]) and set(te) <= set(fold_indices(df, folds, k)[1])

def test_leaky_folds_are_refused(data, monkeypatch):
    df, folds = data
    import omnibiote_nb.binding as B
    bad = folds.copy(); bad.loc[bad.fold == -1, 'fold'] = 3    # homologs into a test part
    H = load_homology(); monkeypatch.setattr(B, 'load_homology', lambda: dict(H, folds=bad))
    with pytest.raises(Exception, match='homolog'): B.pronab_folds()

def test_standardisation_uses_the_training_part_only(data):
    df, folds = data
    tr, te = fold_parts(df, folds, 0, PRESETS['test'])
    _, model = fit_fold('omnibiote', df, tr, te, PRESETS['test'], [tiny()])
    y = df.dG.to_numpy()
    assert float(model.y_mean) == pytest.approx(y[tr].mean(), abs=1e-4)
    assert float(model.y_std) == pytest.approx(y[tr].std(ddof=1), abs=1e-4)
    # the check can fail: the test part's statistics (or all records') differ from the training part's
    assert abs(y[te].mean() - y[tr].mean()) > 1e-3 and abs(y[np.r_[tr, te]].mean() - y[tr].mean()) > 1e-3

def test_test_targets_do_not_change_predictions(data):
    "The test part's dG never reaches training: shuffling it leaves the predictions bit-identical."
    df, folds = data
    tr, te = fold_parts(df, folds, 1, PRESETS['test'])
    p1, _ = fit_fold('omnibiote', df, tr, te, PRESETS['test'], [tiny()])
    d2 = df.copy(); d2.loc[d2.index[te], 'dG'] = d2.dG.iloc[te].to_numpy()[::-1] + 5.0
    p2, _ = fit_fold('omnibiote', d2, tr, te, PRESETS['test'], [tiny()])
    np.testing.assert_array_equal(p1, p2)

def test_finetuning_a_tiny_model_reduces_training_loss(data):
    df, folds = data
    from omnibiote_nb.binding import pair_input, tokenizer_for
    tr, _ = fold_parts(df, folds, 2, PRESETS['cpu']); tr = tr[:96]
    tok = tokenizer_for(49)
    xs = [pair_input(tok, r.protein, r.na, r.na2, r.na_type, 64, 12) for r in df.iloc[tr].itertuples()]
    r = finetune(Finetuner([tiny()]), xs, df.dG.to_numpy()[tr], None, FinetuneConfig(epochs=8, batch=16, progress=False))
    assert r['losses'][-6:].mean() < 0.8 * r['losses'][:6].mean(), r['losses']

def test_predict_dg_file_reports_bad_rows_and_predicts_the_rest(tmp_path, data, capsys):
    df, _ = data
    tiny().save(tmp_path/'base')
    ft = train_dg(tmp_path/'base', tmp_path/'dg', preset='test', progress=False, n_records=32)
    r = df.iloc[0]
    rows = pd.DataFrame(dict(protein=[r.protein, 'MK1V', r.protein, r.protein, ''],
                             na=[r.na, 'ACGT', 'ACGZ', 'ACGU', 'ACGT'], na2=[r.na2, '', '', '', ''],
                             na_type=[r.na_type, 'DNA', 'DNA', 'RNA', 'DNA']))
    rows.to_csv(tmp_path/'pairs.tsv', sep='\t', index=False)
    out = predict_dg_file(tmp_path/'pairs.tsv', tmp_path/'pred.tsv', ft)
    back = pd.read_csv(tmp_path/'pred.tsv', sep='\t', keep_default_na=False)
    assert back.dG_pred.ne('').tolist() == [True, False, False, True, False]
    assert back.error[1].startswith('row 2: protein position 3') and back.error[2].startswith('row 3: na position 4')
    assert back.error[4] == 'row 5: protein is empty'
    assert np.isfinite(back.dG_pred[[0, 3]].astype(float)).all()
    assert not list(tmp_path.glob('*.tmp'))
    # the same through the command line: one pair, a file of pairs, and a bad pair (one line, status 2)
    from omnibiote_nb.cli import main
    main(['predict-dg', '--ckpt', str(ft), '--protein', r.protein, '--na', r.na, '--na2', r.na2, '--na-type', r.na_type])
    assert abs(float(capsys.readouterr().out.split()[0]) - float(back.dG_pred[0])) < 1e-3
    main(['predict-dg', '--ckpt', str(ft), '--pairs', str(tmp_path/'pairs.tsv'), '--out', str(tmp_path/'cli.tsv')])
    assert pd.read_csv(tmp_path/'cli.tsv', sep='\t', keep_default_na=False).equals(back)
    with pytest.raises(SystemExit) as e: main(['predict-dg', '--ckpt', str(ft), '--protein', 'MK1V', '--na', 'ACGT'])
    assert e.value.code == 2 and 'protein position 3' in capsys.readouterr().err

def test_predict_dg_file_missing_column(tmp_path):
    pd.DataFrame(dict(protein=['MKV'])).to_csv(tmp_path/'p.tsv', sep='\t', index=False)
    with pytest.raises(Exception, match='missing columns'): predict_dg_file(tmp_path/'p.tsv', tmp_path/'o.tsv', tmp_path)
    assert not (tmp_path/'o.tsv').exists()
