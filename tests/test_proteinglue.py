"ProteinGLUE-style derived tasks: grouped split, labels from the structure data, committed text = its CSV."
import numpy as np, pytest
from omnibiote_nb.core import REPO
from omnibiote_nb import benchmarks as bm
from omnibiote_nb import proteinglue as pg
from omnibiote_nb.tape import load_structures

def test_split_is_grouped_and_labels_follow_the_cut_off():
    for what in ('rsa', 'buried', 'ss3'):
        s = pg.structure_task(what)
        assert not set(s['train'].group) & set(s['test'][pg.TEST_NAME].group)
    c = load_structures().drop_duplicates('pid').set_index('pid')
    b = pg.structure_task('buried')['train']
    for pid, lab in zip(b.group.head(20), b.label.head(20)):
        rsa = c.rsa[pid]
        ok = np.isfinite(rsa)
        np.testing.assert_array_equal(lab[ok], (rsa[ok] < pg.BURIED_RSA).astype(float))
        assert np.isnan(lab[~ok]).all()

def test_tasks_are_registered_as_derived():
    for t in pg.PG_TASKS:
        assert bm.TASKS[t.name] is t and t.benchmark == 'ProteinGLUE' and 'derived' in t.name

def test_committed_conclusions_are_generated_from_the_committed_csv():
    csv, md = REPO/'figures'/'proteinglue_results.csv', REPO/'figures'/'proteinglue_conclusions.md'
    if not csv.exists(): pytest.skip('no committed ProteinGLUE-style results yet')
    text = md.read_text()
    assert 'not available offline' in text
    assert text.strip() == pg.pg_conclusions(bm.read_results(csv)).strip()
