"TAPE-style tasks: leakage-free structure folds, grouped substitute splits, the per-residue (BPE) mapping, contact metrics, committed text = its CSV."
import numpy as np, pandas as pd, pytest, torch
from omnibiote_nb.core import REPO
from omnibiote_nb.pronab import THRESHOLD
from omnibiote_nb.tokenizers import CharTokenizer, BPETokenizer
from omnibiote_nb.finetune import residue_tokens
from omnibiote_nb import benchmarks as bm
from omnibiote_nb import tape
from omnibiote_nb.model import OmniBioTE, preset

def test_structure_folds_have_no_leak_and_a_planted_one_is_caught():
    c = tape.load_structures()
    assert tape.fold_problems(c) == []
    tr, te = tape.structure_split(c)
    assert not set(tr.seq) & set(te.seq)
    leaky = c.copy()
    leaky.loc[leaky.fold == -1, 'fold'] = tape.TEST_FOLDS[0]
    assert tape.fold_problems(leaky)

def test_ss8_training_chains_have_no_homolog_in_the_test_sets():
    c = tape.load_structures()
    train = tape.load_ss8()['train']
    kept = c[c.seq.isin(set(train.seq))]
    assert (kept.max_score_CB513 <= THRESHOLD).all() and (kept.max_score_TS115 <= THRESHOLD).all()
    assert len(train) == kept.pid.nunique()

def test_stability_substitute_split_is_grouped_by_family():
    s = tape.load_stability()
    test = s['test'][tape.STABILITY_TEST]
    assert not set(s['train'].group) & set(test.group) and not set(s['dev'].group) & set(test.group)
    assert len(set(s['train'].group)) == 10 and len(set(s['dev'].group)) == 2 and len(set(test.group)) == 5
    for part in (s['train'], s['dev'], test):   # the label is the score minus its family's mean, on every side
        centred = part.score - part.groupby('group').score.transform('mean')
        assert np.allclose(part.label, centred)

def test_fluorescence_test_variants_have_more_mutations():
    t = tape._tsv('fluorescence/avgfp_tape_like_splits.tsv.gz')
    n = t.num_mutations.astype(int)
    assert n[t.split != 'test'].max() < n[t.split == 'test'].min()

@pytest.mark.parametrize('tok', [CharTokenizer(), BPETokenizer.load()])
def test_per_residue_labels_and_predictions_go_through_residue_tokens(tok):
    "Methods 4.4: every residue of a task's sequence maps to exactly one token; per-residue models are the identity after the tag."
    df = tape.load_ss3()['test']['CB513'].head(20)
    e = bm.encode(tape.SS3_TASK, tok, df, 10**6)
    for (ids,), idx, seq, y, lab in zip(e.xs, e.index, df.seq, e.y, e.labels):
        np.testing.assert_array_equal(idx, residue_tokens(tok, ids))
        assert len(idx) == len(seq) and np.all(np.diff(idx) >= 0)
        sp = tok.spans(ids)
        assert (sp[:, 1] - sp[:, 0]).sum() == len(seq)           # the tokens' spans tile the sequence: one token per residue
        if isinstance(tok, CharTokenizer): np.testing.assert_array_equal(idx, np.arange(1, len(seq) + 1))
        back = bm.to_residues(tape.SS3_TASK, bm.Encoded([(ids,)], [y], [lab], [idx]), [np.eye(3)[np.nan_to_num(y).astype(int)]])[0]
        assert len(back) == len(seq)
        ok = np.isfinite(lab)
        if isinstance(tok, CharTokenizer): np.testing.assert_array_equal(back.argmax(1)[ok], lab[ok])   # identity: labels survive exactly

@pytest.mark.parametrize('vocab', [49, 4096])
def test_contact_inputs_map_every_covered_residue_to_one_token(vocab):
    torch.manual_seed(0)
    net = OmniBioTE(preset('tiny', vocab, max_len=64))
    seqs = tape.load_structures().seq.head(5).tolist()
    for (x, idx), s in zip(tape.contact_inputs(net, seqs, 64), seqs):
        assert idx.min() == 0 and idx.max() == len(x) - 1 and np.all(np.diff(idx) >= 0) and len(idx) <= len(s)
        if vocab == 49: np.testing.assert_array_equal(idx, np.arange(len(idx)))

def test_precision_at_l5_by_hand():
    L = 30
    true = np.zeros((L, L))
    true[0, 29] = true[29, 0] = true[1, 28] = true[28, 1] = 1
    prob = np.zeros((L, L))
    prob[0, 29] = prob[29, 0] = 0.9          # L/5 = 6 top pairs: 1 true among the 6 highest
    prob[2, 27] = prob[27, 2] = 0.8
    assert tape.precision_at(prob, true, 24) == pytest.approx(1 / 6)
    assert tape.contact_metrics([prob], [true])['all-negative accuracy (>= 12)'] == pytest.approx(1 - 2 / ((L - 12) * (L - 11) / 2))

def test_published_numbers_are_labelled_with_their_source():
    p = tape.published()
    assert set(p.columns) == set(bm.RESULT_COLUMNS) and p.source.str.contains('TAPE').all()
    assert set(p.task) <= {t.name for t in tape.TAPE_TASKS} | {tape.CONTACT_TASK.name}

def test_committed_conclusions_are_generated_from_the_committed_csv():
    csv, md = REPO/'figures'/'tape_results.csv', REPO/'figures'/'tape_conclusions.md'
    if not csv.exists(): pytest.skip('no committed TAPE results yet')
    assert md.read_text().strip() == tape.conclusions(bm.read_results(csv)).strip()
