"The benchmark harness: metrics, the per-residue mapping, the result files, a user's CSV."
import json, numpy as np, pandas as pd, pytest, torch
from omnibiote_nb.core import OmniError, bundled
from omnibiote_nb.model import OmniBioTE, preset
from omnibiote_nb.tokenizers import CharTokenizer, BPETokenizer
from omnibiote_nb import benchmarks as B

def _tiny(): 
    torch.manual_seed(0)
    return OmniBioTE(preset('tiny', 49, max_len=64))

def _tf0(n=64):
    read = lambda s: pd.read_csv(bundled('gue', f'tf/0/{s}.csv.gz')).rename(columns={'sequence': 'seq'}).head(n)
    return B.Task('t tf0', 'user', 'classify', 'mcc', 'DNA', 2, lambda: dict(train=read('train'), dev=read('dev'), test=read('test')))

def test_metrics():
    assert B.mcc([0, 1, 1, 0], [0, 1, 1, 0]) == pytest.approx(1)
    assert B.accuracy([np.array([0., np.nan, 1.])], [np.eye(2)[[0, 0, 0]]]) == pytest.approx(0.5)   # NaN residues not scored
    assert B.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)

def test_residue_mapping_every_residue_one_token():
    task = B.Task('r', 'user', 'residue-regress', 'spearman', 'protein', 1, dict)
    seqs = ['MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ', 'GSHMLEDPVDAFQ']
    df = pd.DataFrame(dict(seq=seqs, label=[np.arange(len(s), dtype=float) for s in seqs]))
    for tok in (CharTokenizer(), BPETokenizer.load()):
        e = B.encode(task, tok, df, 1024)
        for s, i, x in zip(seqs, e.index, e.xs):
            assert len(i) == len(s)                                   # each residue maps to exactly one token
            assert i.min() >= 1 and i.max() <= len(x[0]) - 2          # never the tag or the end token
            assert np.all(np.diff(i) >= 0)
    e = B.encode(task, CharTokenizer(), df, 1024)
    assert all(np.array_equal(i, np.arange(1, len(s) + 1)) for i, s in zip(e.index, seqs))   # per residue: the identity

def test_run_task_resumes_and_rows(tmp_path):
    t = _tf0()
    r = B.run_task(t, _tiny(), 'test', out_dir=tmp_path, progress=False)
    assert [x['split'] for x in r['rows']] == ['test'] and set(r['rows'][0]) == set(B.RESULT_COLUMNS)
    assert B.run_task(t, _tiny(), 'test', out_dir=tmp_path)['seconds'] == r['seconds']
    p = B.frozen_probe(t, _tiny(), 'test', out_dir=tmp_path)
    k = B.kmer_baseline(t, 'test', out_dir=tmp_path)
    rows = B.read_results(tmp_path)
    assert sorted(rows.method) == ['baseline', 'finetune', 'probe']
    assert rows.set_index('method').flops.isna()['baseline']

def test_random_init_flops_zero(tmp_path):
    r = B.frozen_probe(_tf0(), _tiny(), 'test', random_init=True, out_dir=tmp_path)
    assert r['rows'][0]['flops'] == 0.0 and r['rows'][0]['model'].endswith('random init')

def test_user_csv(tmp_path):
    pd.read_csv(bundled('gue', 'tf/0/dev.csv.gz')).head(50).assign(split=['train'] * 40 + ['test'] * 10).to_csv(tmp_path/'u.csv', index=False)
    t = B.user_task(tmp_path/'u.csv')
    d = t.load()
    assert len(d['train']) == 40 and d['dev'] is None and len(d['test']) == 10
    (tmp_path/'bad.csv').write_text('sequence,label\nACGT,x\n')
    with pytest.raises(OmniError, match='row 1 \\(line 2\\)'): B.user_task(tmp_path/'bad.csv')
    with pytest.raises(OmniError, match='no such file'): B.user_task(tmp_path/'none.csv')
