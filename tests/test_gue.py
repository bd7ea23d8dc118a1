"GUE: the bundled tasks and the missing ones, the loader's errors, the published numbers, the protocol's rows."
import os, numpy as np, pandas as pd, pytest, torch
from pathlib import Path
from omnibiote_nb.core import OmniError, manifests
from omnibiote_nb.model import OmniBioTE, preset
from omnibiote_nb import gue, benchmarks as B

def test_every_task_bundled_or_listed():
    assert len(gue.GUE_TASKS) == 28
    assert set(gue.bundled_tasks()) | set(gue.NOT_BUNDLED) == set(gue.GUE_TASKS)
    assert not set(gue.bundled_tasks()) & set(gue.NOT_BUNDLED)
    assert len(gue.bundled_tasks()) == 13

def test_split_overlap_is_upstreams():
    "Test (dev) sequences that are also training sequences: only upstream's few, counted in 16_gue; any other leakage fails."
    o = gue.split_overlap().set_index('task')
    assert o.test_in_train[o.test_in_train > 0].to_dict() == {'prom/prom_300_tata': 6, 'prom/prom_core_notata': 2, 'prom/prom_core_tata': 16}
    assert o.dev_in_train[o.dev_in_train > 0].to_dict() == {'prom/prom_300_tata': 14, 'prom/prom_core_all': 1, 'prom/prom_core_notata': 2,
                                                             'prom/prom_core_tata': 8, 'tf/2': 5, 'tf/4': 123}

def test_missing_task_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv('OMNIBIOTE_GUE', raising=False)
    with pytest.raises(OmniError, match='GUE task virus/covid is not bundled \\(the whole task is missing offline\\); OMNIBIOTE_GUE is not set'):
        gue.load_gue('virus/covid')
    (tmp_path/'splice'/'reconstructed').mkdir(parents=True)
    pd.DataFrame(dict(sequence=['ACGT', 'GGCA'], label=[0, 2])).to_csv(tmp_path/'splice'/'reconstructed'/'train.csv', index=False)
    monkeypatch.setenv('OMNIBIOTE_GUE', str(tmp_path))
    with pytest.raises(OmniError, match='lacks dev.csv, test.csv'):
        gue.load_gue('splice/reconstructed')
    for s in ('dev', 'test'):
        pd.DataFrame(dict(sequence=['ACGT'], label=[1])).to_csv(tmp_path/'splice'/'reconstructed'/f'{s}.csv', index=False)
    assert len(B.splits(B.TASKS['gue/splice/reconstructed'])['train']) == 2

def test_published_numbers():
    pub = gue.published()
    assert set(B.RESULT_COLUMNS) <= set(pub.columns)
    assert pub.value.between(0, 1).all() and (pub.source.str.contains('2306.15006')).all() and pub.verified_by.str.len().gt(0).all()
    assert set(pub.task) <= {f'gue/{t}' for t in gue.bundled_tasks()}
    for m, t in gue.UNVERIFIED: assert not ((pub.model == f'{m} (published)') & (pub.task == f'gue/{t}')).any()
    assert pub.set_index(['task', 'model']).value[('gue/prom/prom_core_all', 'DNABERT-2 (published)')] == pytest.approx(0.6937)

def test_protocol_rows(tmp_path):
    torch.manual_seed(0)
    OmniBioTE(preset('tiny', 49, max_len=64)).save(tmp_path/'m'/'model')
    rows = gue.run_gue({'m': tmp_path/'m'}, tmp_path/'out', 'test', controls=['m'], tasks=['mouse/3'], progress=False)
    assert sorted(rows.method) == ['baseline', 'probe', 'probe']
    assert set(rows.init) == {'', 'pretrained', 'random'}
    table = pd.concat([rows, gue.published()[B.RESULT_COLUMNS]], ignore_index=True)
    text = gue.conclusions(table)
    assert 'Mean test MCC' in text and 'What this does not show' in text
