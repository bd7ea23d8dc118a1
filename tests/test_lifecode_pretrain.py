"Life-Code pretraining (33_lifecode_pretrain): translation targets on real records, FLOPs matched to the ladder, exact resume with distillation."
import gzip, json
from pathlib import Path
import numpy as np, pytest, torch
from omnibiote_nb.core import OmniError, bundled
from omnibiote_nb.data import genbank_files
from omnibiote_nb.model import OmniBioTE, preset, flops_per_token
from omnibiote_nb.tokenizers import CharTokenizer, load_tokenizer
from omnibiote_nb.pretrain import read_metrics
from omnibiote_nb.lifecode_data import read_coding, cds_protein, codon_usage, reverse_codons
from omnibiote_nb.codon_tokenizer import CodonTokenizer, prepare_lifecode, FWD0, REV0, ORPH0
from omnibiote_nb.hybrid_encoder import load_hybrid, hybrid_flops_per_token
from omnibiote_nb.lifecode_pretrain import *
from omnibiote_nb.ladder import LADDER
from test_pretrain import losses, signal_at, REPO

GB = 'files/biopython__biopython/Tests/GenBank/'
char = CharTokenizer()

def protein_text(ids, run, res): return ''.join(char.id_to_piece(int(res[ids[j]])) for j in run)

def test_runs_are_the_cds_proteins():
    "Every coding run of real records (joins, minus strand) is a stretch of its CDS's own translation, read in protein order."
    tok, res, n_minus, n = CodonTokenizer(), residue_ids(), 0, 0
    for name in ('arab1.gb.gz', 'NC_000932.gb.gz', 'NC_005816.gb.gz'):
        for r in read_coding(bundled('genbank', GB + name)):
            ids = tok.encode(r.seq, r.tag, r.region)
            prots = [cds_protein(r.seq, c) for c in r.cds if c.table in (1, 11) and not c.pseudo]
            for run in coding_runs(ids[None], np.zeros((1, len(ids)), np.int64), res):
                p = protein_text(ids, run, res)
                assert len(p) < 20 or any(p[1:] in q for q in prots), (name, p[:30])   # [1:]: an alternative start codon
                n += 1; n_minus += bool(ids[run[0]] >= REV0)
    assert n > 50 and n_minus > 10

def test_reverse_translated_protein_is_its_residues():
    tok, res = CodonTokenizer(), residue_ids()
    from omnibiote_nb.lifecode_data import protein_record
    rt = reverse_codons(codon_usage([bundled('genbank', GB + 'arab1.gb.gz')]))
    p = protein_record('p', 'MKWACDEFGHILNPQRSTVY', rt)
    ids = tok.encode(p.seq, p.tag, p.region)
    runs = coding_runs(ids[None], np.zeros((1, len(ids)), np.int64), res)
    assert [protein_text(ids, r, res) for r in runs] == ['MKWACDEFGHILNPQRSTVY']

def test_teacher_pieces_and_packed_records():
    "Runs never cross a record of a packed window; pieces fit the teacher; positions pair codon k with residue k."
    tok, res = CodonTokenizer(), residue_ids()
    a, b = tok.encode('ATGAAATGG', 'DNA', [1, 2, 3] * 3), tok.encode('ATGAAA', 'DNA', [1, 2, 3] * 2)
    t = np.concatenate([a, b])[None]
    d = np.array([[0] * len(a) + [1] * len(b)])
    idx, doc, sp, tp = teacher_batch(t, d, res, 3, char.tag_of['protein'])
    assert [protein_text(t[0], [s], res) for s in sp] == ['M', 'K', 'W', 'M', 'K']
    assert idx.shape[1] <= 3 and (idx.reshape(-1)[tp] == res[t.reshape(-1)[sp]]).all() and (doc.reshape(-1)[tp] == 0).all()

def test_cpu_preset_matches_the_ladder_flops():
    "lifecode-cpu: the hybrid of the reference run's size, trained for that run's FLOPs (977 steps of 32 windows of 256)."
    p = LIFECODE_TRAIN_PRESETS['lifecode-cpu']
    size = LADDER[REFERENCE][0]
    assert p['model'] == size
    cfg = hybrid_config(dict(vars(preset(size, 329, max_len=1024))) | SHAPE | dict(attn_window=PRESETS['cpu']['attn_window']))
    ours = hybrid_flops_per_token(cfg, p['window']) * p['tokens']
    assert ladder_flops() == flops_per_token(preset(size, 49, max_len=256), 256) * 977 * 32 * 256
    assert abs(ours / ladder_flops() - 1) < 1 / 1000 and p['tokens'] % (p['window'] * p['batch']) == 0

@pytest.fixture(scope='module')
def shards(tmp_path_factory):
    "Codon shards of a few bundled GenBank files and 300 proteins, a third of them held out (so both modalities have val records)."
    tmp = tmp_path_factory.mktemp('lc')
    fa = tmp/'p.fasta'
    with gzip.open(bundled('proteins', 'proteins_sample.fasta.gz'), 'rt') as f: fa.write_text(''.join(f.readline() for _ in range(600)))
    gbs = [bundled('genbank', GB + n) for n in ('arab1.gb.gz', 'NC_000932.gb.gz', 'NC_005816.gb.gz', 'cor6_6.gb.gz', 'iro.gb.gz',
                                                'pri1.gb.gz', 'EU851978.gbk.gz', 'GU949562.1.gb.gz')]
    prepare_lifecode(tmp/'s', gbs, [fa], reverse_codons(codon_usage(gbs)), val=0.3, test=0.05, progress=False)
    return tmp/'s'

@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
    torch.manual_seed(0)
    net = OmniBioTE(preset('tiny', 49, max_len=64))
    net.tokenizer = char
    out = tmp_path_factory.mktemp('teacher')/'model'
    net.save(out)
    return out

DRIVER = '''
import json, os, sys, time, lightning as L
from omnibiote_nb.lifecode_pretrain import train_lifecode
class Slow(L.Callback):
    def on_train_batch_end(self, *a): time.sleep(float(os.environ.get('SLOW', '0')))
train_lifecode(**json.loads(sys.argv[1]), callbacks=[Slow()])
'''

def run(tmp, kw, slow=0, wait=True):
    from _driver import run_driver
    return run_driver(tmp, DRIVER, kw, slow, wait, timeout=600)

def test_resume_after_sigkill_with_distillation(shards, teacher, tmp_path):
    "Killed after a checkpoint and resumed: the same MLM losses, distillation losses and held-out losses as an unbroken run."
    kw = dict(preset='test', data=str(shards), teacher=str(teacher), distill=1.0, progress=False)
    run(tmp_path, kw | dict(out=str(tmp_path/'a')))
    b = tmp_path/'b'
    signal_at(run(tmp_path, kw | dict(out=str(b)), slow=0.3, wait=False), b, 6)
    assert 6 <= max(losses(b)) < 12
    run(tmp_path, kw | dict(out=str(b), resume=True))
    la, lb = losses(tmp_path/'a'), losses(b)
    assert sorted(la) == sorted(lb) == list(range(1, 13))
    np.testing.assert_allclose([lb[s] for s in la], list(la.values()), rtol=1e-5)
    va, vb = read_metrics(tmp_path/'a')['val'], read_metrics(b)['val']
    np.testing.assert_allclose([v['prot_loss'] for v in vb], [v['prot_loss'] for v in va], rtol=1e-5)
    import pandas as pd
    da, db = (pd.read_csv(sorted((r/'logs').glob('version_*'))[-1]/'metrics.csv').dropna(subset=['train/distill']) for r in (tmp_path/'a', b))
    assert (da['train/teacher_tokens'] > 0).all()
    both = da.merge(db, on='step', suffixes=('_a', '_b'))   # the resumed session's steps
    assert len(both) >= 4
    np.testing.assert_allclose(both['train/distill_b'], both['train/distill_a'], rtol=1e-5)
    # the exported model is a hybrid with the codon tokenizer; the run's config names the teacher and the weight
    net = load_hybrid(b/'model')
    assert isinstance(net.tokenizer, CodonTokenizer) and isinstance(load_tokenizer(b/'model'), CodonTokenizer)
    cfg = json.loads((b/'run.json').read_text())['config']
    assert cfg['distill'] == 1.0 and cfg['teacher'] == str(teacher.resolve())
    with pytest.raises(OmniError, match='differ'): train_lifecode('test', b, distill=0.5, data=shards, teacher=teacher, resume=True, progress=False)

def test_distill_zero_is_off(shards, tmp_path):
    "distill = 0: no teacher and no projection in the run; a training step's loss is the MLM loss alone."
    train_lifecode('test', tmp_path/'r', distill=0.0, data=shards, progress=False, tokens=64 * 8 * 4)
    cfg = json.loads((tmp_path/'r'/'run.json').read_text())['config']
    assert 'distill' not in cfg and 'teacher' not in cfg
    lm = LifeCodeMLM(cfg)
    assert lm.weight == 0 and not hasattr(lm, 'proj') and not hasattr(lm, '_teacher')
    with pytest.raises(OmniError, match='no teacher'): train_lifecode('test', tmp_path/'x', distill=1.0, data=shards, runs=tmp_path, progress=False)

# ---- 34_lifecode_results

from omnibiote_nb.lifecode_results import region_of_ids, masked_losses, char_regions, margins, conclusions, results_table
from omnibiote_nb.codon_tokenizer import load_regions
from omnibiote_nb.stream import Shards

def test_region_of_ids_is_the_regions_file(shards):
    idx = json.loads((shards/'index.json').read_text())
    for e in idx['shards']:
        toks = np.memmap(shards/e['file'], np.uint16, 'r')
        np.testing.assert_array_equal(region_of_ids(e['modality'])[toks], load_regions(shards, e))

def test_masked_losses_say_where_each_token_is(shards):
    "Every scored token is the token at its (record, position) of the held-out shards; every held-out window is scored."
    net = LifeCodeMLM.build(dict(vars(preset('tiny', 329, max_len=64))) | SHAPE | dict(attn_window=32))
    for m in ('nuc', 'prot'):
        t, sh = masked_losses(net, shards, m, 64), Shards(shards, 'val', m)
        got = [int(sh.tokens_of(r, p, 1)[0]) for r, p in zip(t['record'].tolist(), t['pos'].tolist())]
        assert got == t['target'].tolist() and (t['pos'] > 0).all() and np.isfinite(t['loss']).all()
        assert len(t['loss']) > 0.1 * sh.lengths.sum()

def test_margins_paired_and_region_unigram():
    t = dict(loss=np.array([1.0, 2.0, 3.0, 1.0]), target=np.array([4, 4, FWD0, FWD0 + 1]))
    logp = np.log(np.full(329, 1 / 329))
    rows = {r['region']: r for r in margins(t, logp, np.array(['non-coding', 'non-coding', 'coding', 'coding']), {'coding': 3},
                                              {'coding': np.arange(FWD0, ORPH0)})}
    assert rows['coding']['margin'] == pytest.approx(np.log(329) - 2.0) and rows['coding']['margin_per_unit'] == pytest.approx((np.log(329) - 2.0) / 3)
    assert rows['coding']['margin_region'] == pytest.approx(np.log(329) - 2.0 - np.log(329 / (ORPH0 - FWD0)))
    assert 'margin_region' not in rows['non-coding']
