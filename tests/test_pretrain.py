"Pretraining: resume after SIGKILL, DDP against one process, masking, packing, determinism and disjoint ranks."
from omnibiote_nb.tokenizers import CharTokenizer, save_tokenizer
import json, os, signal, subprocess, sys, time, tracemalloc
from pathlib import Path
import numpy as np, pytest, torch
from _driver import run_driver
from omnibiote_nb.stream import *
from omnibiote_nb.pretrain import *
from omnibiote_nb.ladder import *
from omnibiote_nb.core import OmniError
from omnibiote_nb.model import OmniBioTE, OmniBioTEConfig

REPO = Path(__file__).resolve().parents[1]

def write_shards(out, n=(200, 60, 60), seed=0, vocab=49):
    "Shards in the format of shards.prepare, char-tokenizer ids: nucleotides 4-8 with tags 9-22, residues 23-47 with tag 48."
    out = Path(out); out.mkdir(parents=True, exist_ok=True); rng = np.random.default_rng(seed); shards = []
    for split, nr in zip(('train', 'val', 'test'), n):
        for mod in ('nuc', 'prot'):
            recs = []
            for i in range(nr):
                L = int(rng.integers(5, 40 if i % 3 else 700))
                body, tag = (rng.integers(4, 9, L), int(rng.integers(9, 23))) if mod == 'nuc' else (rng.integers(23, 48, L), 48)
                # a motif that depends on the tag, so that there is something to learn beyond frequencies
                body[::4] = 4 + tag % 5 if mod == 'nuc' else 23 + (i % 25)
                recs.append(np.concatenate([[tag], body, [3]]).astype(np.uint16))
            toks = np.concatenate(recs); offs = np.concatenate([[0], np.cumsum([len(r) for r in recs])]).astype(np.uint64)
            f = f'{split}-{mod}-00000'; toks.tofile(out/f'{f}.bin'); np.save(out/f'{f}.idx.npy', offs)
            shards.append(dict(file=f'{f}.bin', offsets=f'{f}.idx.npy', split=split, modality=mod, n_records=nr, n_tokens=len(toks)))
    (out/'index.json').write_text(json.dumps(dict(tokenizer='char', vocab_size=vocab, shards=shards, stats={})))
    save_tokenizer(CharTokenizer(), out)  # as shards.prepare does: the shards say how to read them
    return out

@pytest.fixture(scope='module')
def shards(tmp_path_factory): return write_shards(tmp_path_factory.mktemp('shards'))

DRIVER = '''
import json, os, sys, time, lightning as L
from omnibiote_nb.pretrain import pretrain
class Slow(L.Callback):
    def on_train_batch_end(self, *a): time.sleep(float(os.environ.get('SLOW', '0')))
class Groups(L.Callback):   # the elements each optimiser group holds on this rank
    def on_train_start(self, trainer, module):
        g = {g['name']: sum(p.numel() for p in g['params']) for g in trainer.optimizers[0].param_groups}
        with open(f'groups-{trainer.global_rank}.json', 'w') as f: json.dump(g, f)
kw = json.loads(sys.argv[1])
pretrain(**kw, callbacks=[Slow()] + ([Groups()] if kw.get('strategy') == 'fsdp' else []))
'''

def run(tmp, kw, slow=0, wait=True): return run_driver(tmp, DRIVER, kw, slow, wait)

def losses(run_dir): return {r['step']: r['loss'] for r in read_metrics(run_dir)['train']}

def signal_at(p, out, step, sig=signal.SIGKILL):
    "Send process `p` `sig` once the run in folder `out` has logged step `step` (and wait for it if killed)."
    t0 = time.time()
    while not ((out/'metrics.jsonl').exists() and max(losses(out), default=0) >= step):
        assert p.poll() is None and time.time() - t0 < 90, f'run ended before step {step}'
        time.sleep(0.05)
    p.send_signal(sig)
    if sig == signal.SIGKILL: p.wait()

def test_resume_after_sigkill(shards, tmp_path):
    kw = dict(preset='tiny', data=str(shards), progress=False)
    run(tmp_path, kw | dict(out=str(tmp_path/'a')))
    b = tmp_path/'b'
    signal_at(run(tmp_path, kw | dict(out=str(b)), slow=0.2, wait=False), b, 6)
    killed_at = max(losses(b))
    assert 6 <= killed_at < 12
    assert torch.load(b/'checkpoints'/'resume.ckpt', weights_only=True)['global_step'] in (4, 8)
    run(tmp_path, kw | dict(out=str(b), resume=True))
    la, lb = losses(tmp_path/'a'), losses(b)
    assert sorted(la) == sorted(lb) == list(range(1, 13))
    np.testing.assert_allclose([lb[s] for s in la], list(la.values()), rtol=1e-5)
    va, vb = read_metrics(tmp_path/'a')['val'], read_metrics(b)['val']
    assert [v['step'] for v in va] == [v['step'] for v in vb] == [4, 8, 12]
    np.testing.assert_allclose([v['nuc_loss'] for v in vb], [v['nuc_loss'] for v in va], rtol=1e-5)
    assert (b/'model'/'model.safetensors').exists() and (b/'model'/'config.json').exists()

def test_ddp_two_processes_match_one(shards, tmp_path):
    kw = dict(preset='tiny', data=str(shards), progress=False, dropout=0.0, tokens=64 * 8 * 4, accelerator='cpu')
    run(tmp_path, kw | dict(out=str(tmp_path/'one'), devices=1))
    run(tmp_path, kw | dict(out=str(tmp_path/'two'), devices=2, strategy='ddp'))
    l1, l2 = losses(tmp_path/'one'), losses(tmp_path/'two')
    assert sorted(l1) == sorted(l2) == [1, 2, 3, 4]
    np.testing.assert_allclose([l2[s] for s in l1], list(l1.values()), rtol=1e-4)
    v1, v2 = read_metrics(tmp_path/'one')['val'][-1], read_metrics(tmp_path/'two')['val'][-1]
    np.testing.assert_allclose([v2['nuc_loss'], v2['prot_loss']], [v1['nuc_loss'], v1['prot_loss']], rtol=1e-4)
    assert json.loads((tmp_path/'two'/'summary.json').read_text())['devices'] == 2

def test_fsdp_two_processes_match_one(shards, tmp_path):
    "FSDP (gloo on CPU): same losses as one process, muP groups found on flat shards, and an exact resume after SIGKILL."
    kw = dict(preset='tiny', data=str(shards), progress=False, dropout=0.0, tokens=64 * 8 * 8, accelerator='cpu', every=2)
    run(tmp_path, kw | dict(out=str(tmp_path/'one'), devices=1))
    two, fsdp = tmp_path/'two', dict(devices=2, strategy='fsdp')
    signal_at(run(tmp_path, kw | fsdp | dict(out=str(two)), slow=0.5, wait=False), two, 3)
    assert max(losses(two)) < 8 and (two/'checkpoints'/'resume.ckpt').exists()
    run(tmp_path, kw | fsdp | dict(out=str(two), resume=True))
    l1, l2 = losses(tmp_path/'one'), losses(two)
    assert sorted(l1) == sorted(l2) == list(range(1, 9))
    np.testing.assert_allclose([l2[s] for s in l1], list(l1.values()), rtol=1e-4)
    net = OmniBioTE(OmniBioTEConfig(**json.loads((two/'run.json').read_text())['config']))
    full = {g['name']: sum(p.numel() for p in g['params']) for g in mup_groups(net, 0.03)}
    ranks = [json.loads((tmp_path/f'groups-{r}.json').read_text()) for r in (0, 1)]
    assert all(0 < r['hidden'] < full['hidden'] for r in ranks)     # each rank holds a shard of the hidden matrices
    assert {k: ranks[0][k] + ranks[1][k] for k in full} == full
    a, b = OmniBioTE.load(tmp_path/'one'/'model'), OmniBioTE.load(two/'model')
    # float noise moves weights by ~1e-5 here; a wrong group or a lost shard moves them by the lr (~1e-2)
    for (n, x), y in zip(a.state_dict().items(), b.state_dict().values()): torch.testing.assert_close(y, x, rtol=0, atol=1e-4, msg=n)

def test_bf16_mixed_follows_fp32(shards, tmp_path):
    "The GPU precision, bf16-mixed, run under CPU autocast: it trains, and its losses follow fp32's."
    kw = dict(preset='tiny', data=str(shards), progress=False, dropout=0.0, tokens=64 * 8 * 8, accelerator='cpu')
    for p in ('32-true', 'bf16-mixed'): run(tmp_path, kw | dict(out=str(tmp_path/p), precision=p))
    l32, l16 = losses(tmp_path/'32-true'), losses(tmp_path/'bf16-mixed')
    assert l16 != l32 and json.loads((tmp_path/'bf16-mixed'/'summary.json').read_text())['precision'] == 'bf16-mixed'
    np.testing.assert_allclose(list(l16.values()), list(l32.values()), rtol=5e-2)
    assert l16[8] < 0.75 * l16[1]

def test_masking_rules(shards):
    st = Stream(shards, 'train', 'multi', T=128, seed=0)
    tags = set(range(9, 23)) | {48}
    n_free = n_masked = 0
    for g in range(300):
        w = st[g]
        tgt, m = w['targets'], w['mask']
        assert not np.isin(tgt[m], list(tags) + [0, 1, 2, 3]).any()        # never pad/mask/eos/unk or a tag
        assert (w['idx'][m] == MASK).all() and (w['idx'][~m] == tgt[~m]).all()   # every masked token is <mask>
        assert (w['doc_ids'][m] >= 0).all()
        free = ~np.isin(tgt, list(tags) + [0, 1, 2, 3])
        n_free += free.sum(); n_masked += m.sum()
    assert abs(n_masked / n_free - 0.15) < 0.005

def test_packing_keeps_boundaries(shards):
    st = Stream(shards, 'train', 'multi', T=128, seed=3)
    seen_crop = seen_pack = False
    for g in range(200):
        w = st[g]; m = MODALITIES[w['modality']]; src = st.src[m]
        d = w['doc_ids']
        assert ((d[1:] == d[:-1]) | (d[1:] == d[:-1] + 1) | (d[1:] == -1)).all() and d[0] == 0
        assert (w['targets'][d == -1] == PAD).all() and not (d[d.argmin():] >= 0).any() if (d == -1).any() else True
        recs = w['records']; assert len(recs) == d.max() + 1
        for i, (_, s, r) in enumerate(recs):
            toks = w['targets'][d == i]
            full = np.asarray(src.tokens[s][int(src.offsets[s][r]):int(src.offsets[s][r+1])])
            if len(full) <= 128: assert (toks == full).all(); seen_pack |= len(recs) > 1
            else:   # a crop: the record's tag, then a contiguous stretch of the record
                assert len(recs) == 1 and len(toks) == 128 and toks[0] == full[0]; seen_crop = True
                body = full[1:]; c = next(j for j in range(len(body) - 126) if (body[j:j+127] == toks[1:]).all())
                assert c >= 0
    assert seen_crop and seen_pack

def test_stream_is_deterministic(shards):
    a, b, c = (Stream(shards, 'train', 'multi', T=96, seed=s) for s in (0, 0, 1))
    for g in (0, 7, 123, 999):
        for k in ('idx', 'doc_ids', 'mask'): assert np.array_equal(a[g][k], b[g][k])
    assert not all(np.array_equal(a[g]['idx'], c[g]['idx']) for g in range(5))
    # resume: starting at micro-batch s gives what skipping s micro-batches gives
    it0, it5 = iter(TrainWindows(a, 4, start=0)), iter(TrainWindows(b, 4, start=5))
    for _ in range(5): next(it0)
    assert torch.equal(next(it0)['idx'], next(it5)['idx'])
    # DataLoader workers take micro-batches in turn and hand them back in order
    dl = torch.utils.data.DataLoader(TrainWindows(a, 4, start=2), batch_size=None, num_workers=2)
    got = [b['idx'] for _, b in zip(range(5), dl)]
    it = iter(TrainWindows(a, 4, start=2))
    assert all(torch.equal(g, next(it)['idx']) for g in got)

def test_ranks_read_disjoint_windows_and_records(shards):
    st = Stream(shards, 'train', 'multi', T=128, seed=0)
    steps = min(st.n_windows('prot') * 5 // 8, st.n_windows('nuc') * 5 // 32)   # inside the first epoch of both modalities
    assert steps >= 10
    one = TrainWindows(st, 8, 0, 1); r0, r1 = TrainWindows(st, 4, 0, 2), TrainWindows(st, 4, 1, 2)
    g1 = [set(one.windows(b)) for b in range(steps)]
    g0s, g1s = [set(r0.windows(b)) for b in range(steps)], [set(r1.windows(b)) for b in range(steps)]
    for a, b, c in zip(g0s, g1s, g1): assert not a & b and a | b == c   # same windows per step, split between ranks
    rec = lambda gs: {r for g in set().union(*gs) for r in st[g]['records']}
    assert not rec(g0s) & rec(g1s)

def test_seen_counts_are_the_targets_training_is_fed(shards):
    "`seen_counts` over steps x batch windows counts exactly the masked targets of the first `steps` optimiser steps."
    steps, batch, accum = 5, 8, 2
    dm = PretrainData(shards, 64, batch, 'multi', seed=3, accum=accum)
    it, got = iter(dm.train_dataloader()), {m: 0 for m in MODALITIES}
    for _ in range(steps * accum):
        b = next(it)
        for i, m in enumerate(b['modality'].tolist()):
            got[MODALITIES[m]] += np.bincount(b['targets'][i][b['mask'][i]].numpy(), minlength=49)
    seen = seen_counts(shards, 'multi', 64, 3, steps * batch)
    for m in MODALITIES: np.testing.assert_array_equal(seen[m], got[m])
    assert sum(c.sum() for c in seen.values()) > 0

def test_modalities_and_splits(shards):
    multi = Stream(shards, 'train', 'multi', T=64)
    mods = [multi.which(g)[0] for g in range(1000)]
    assert mods.count('nuc') == 800
    for m in ('nuc', 'prot'):
        st = Stream(shards, 'train', m, T=64)
        assert {MODALITIES[st[g]['modality']] for g in range(50)} == {m}
    # training reads train shards only: no val/test record appears in a training window (and the check can fail)
    def recs(split, m):
        sh = Shards(shards, split, m)
        return {sh.tokens_of(r).astype(np.uint16).tobytes() for r in range(len(sh))}
    held = set().union(*(recs(sp, m) for sp in ('val', 'test') for m in MODALITIES))
    def packed(st, gs):
        for g in gs:
            w = st[g]
            for i in range(w['doc_ids'].max() + 1):
                t = w['targets'][w['doc_ids'] == i]
                if t[-1] == EOS and CharTokenizer().is_tag(t[0]): yield t.astype(np.uint16).tobytes()   # whole records
    tr = list(packed(multi, range(300)))
    assert len(tr) > 300 and not held & set(tr)
    assert set(packed(Stream(shards, 'val', 'multi', T=64), range(20))) <= held
    with pytest.raises(OmniError): Stream(shards, 'train', 'rna')

def test_resume_refuses_other_settings(shards, tmp_path):
    pretrain('tiny', shards, tmp_path/'r', progress=False, tokens=64 * 8 * 4)
    with pytest.raises(OmniError, match='holds a checkpoint'): pretrain('tiny', shards, tmp_path/'r', progress=False)
    with pytest.raises(OmniError, match='lr'): pretrain('tiny', shards, tmp_path/'r', resume=True, lr=0.01, tokens=64 * 8 * 4, progress=False)

def test_resume_of_a_finished_run(shards, tmp_path):
    "Killed after its last checkpoint but before its summary (or simply rerun with --resume): it finishes, same numbers."
    r, kw = tmp_path/'r', dict(progress=False, tokens=64 * 8 * 4)   # 4 steps, a checkpoint every 4: the last is at the end
    pretrain('tiny', shards, r, **kw)
    first = json.loads((r/'summary.json').read_text()); (r/'summary.json').unlink()
    pretrain('tiny', shards, r, resume=True, **kw)
    assert json.loads((r/'summary.json').read_text())['val'] == first['val']

@pytest.mark.parametrize('bad', [dict(tokens=0), dict(tokens=-5), dict(batch=0), dict(accum=0), dict(warmup=-1), dict(lr=0)]
                         + ([] if torch.cuda.is_available() else [dict(accelerator='gpu')]))
def test_bad_settings_are_refused(shards, tmp_path, bad):
    with pytest.raises(OmniError, match=next(iter(bad))): pretrain('tiny', shards, tmp_path/'x', progress=False, **bad)
    assert not (tmp_path/'x').exists()

def _pack_loop(lengths, T, rng, block=None):
    "The record-by-record greedy packing `pack` replaced: the reference it must equal, draw for draw."
    pieces, ptr, used = [], [0], 0
    for i, r in enumerate(rng.permutation(len(lengths))):
        n = int(lengths[r])
        if used and (used + n > T or (block and i % block == 0)): ptr.append(len(pieces)); used = 0
        if n > T:
            c = int(rng.integers(0, n - T + 1))
            pieces += [(r, 0, 1), (r, 1 + c, T - 1)]; ptr.append(len(pieces))
        else: pieces.append((r, 0, n)); used += n
    if used: ptr.append(len(pieces))
    return np.array(pieces, np.int64).reshape(-1, 3), np.array(ptr, np.int64)

def test_pack_equals_the_greedy_loop(shards):
    cases = [(np.random.default_rng(i).integers(1, 3 * T, n), T) for i, (n, T) in
             enumerate(zip(np.random.default_rng(9).integers(0, 80, 200), np.random.default_rng(8).integers(2, 60, 200)))]
    cases += [(Shards(shards, 'train', m).lengths, T) for m in MODALITIES for T in (16, 64, 256)]
    for i, (L, T) in enumerate(cases):
        a, b = pack(L, T, np.random.default_rng(i)), _pack_loop(L, T, np.random.default_rng(i))
        np.testing.assert_array_equal(a[0], b[0]); np.testing.assert_array_equal(a[1], b[1])

def _windows(plan): return [plan.window(j).tolist() for j in range(len(plan))]

def test_plan_in_blocks_equals_the_greedy_loop_cut_at_blocks(shards):
    "Blocks: windows never cross a block boundary, crops are drawn block after block; one block is `pack`."
    cases = [(np.random.default_rng(i).integers(1, 3 * T, n), T) for i, (n, T) in
             enumerate(zip(np.random.default_rng(7).integers(0, 80, 100), np.random.default_rng(6).integers(2, 60, 100)))]
    cases += [(Shards(shards, 'train', m).lengths, T) for m in MODALITIES for T in (16, 256)]
    for i, (L, T) in enumerate(cases):
        for block in (1, 3, 17, max(1, len(L) // 2), len(L) + 5):
            pieces, ptr = _pack_loop(L, T, np.random.default_rng(i), block)
            plan = Plan(L, T, np.random.default_rng(i), block=block)
            assert _windows(plan) == [pieces[a:b].tolist() for a, b in zip(ptr, ptr[1:])], (i, block)
            fresh = Plan(L, T, np.random.default_rng(i), block=block)   # blocks are built when asked for, in any order
            assert [fresh.window(j).tolist() for j in reversed(range(len(fresh)))] == _windows(plan)[::-1]

def test_plan_memory_is_bounded_by_the_block():
    "Laying out 1M records in blocks of 2^16 peaks at a few bytes a record (the order); in one block at over 100."
    L = np.random.default_rng(0).integers(20, 400, 1_000_000)
    def peak(f):
        tracemalloc.start(); f(); p = tracemalloc.get_traced_memory()[1]; tracemalloc.stop(); return p / len(L)
    assert peak(lambda: Plan(L, 512, np.random.default_rng(0), block=1 << 16)) < 16
    assert peak(lambda: pack(L, 512, np.random.default_rng(0))) > 100

@pytest.mark.parametrize('block', [BLOCK, 5])
def test_held_out_windows_cover_every_token_once(shards, block):
    for m in MODALITIES:
        st, sh = Stream(shards, 'val', m, T=64), Shards(shards, 'val', m)
        seen = np.zeros(sh.lengths.sum() + len(sh), np.int64)   # per record, positions 0..len-1
        base = np.concatenate([[0], np.cumsum(sh.lengths + 1)[:-1]])
        plan = Plan(sh.lengths, 64, np.random.default_rng([0, MODALITIES.index(m), 0]), tile=True, block=block)   # as the stream
        if block == BLOCK: assert _windows(plan) == _windows(st.plan(m, 0))
        assert all(sum(n for _, _, n in w) <= 64 for w in _windows(plan))
        for w in _windows(plan):
            for r, s, n in w: seen[base[r] + s: base[r] + s + n] += 1
        want = np.ones_like(seen); want[base[1:] - 1] = 0; want[-1] = 0
        np.testing.assert_array_equal(seen, want)
        assert (sh.lengths > 64).any()   # the fixture has records longer than a window, so tiling is exercised

def test_ctrl_c_is_an_interrupt_not_a_failure(shards, tmp_path):
    "SIGINT during `omnibiote pretrain`: status 130, `omnibiote: interrupted`, and the hint to resume; not Lightning's status 1."
    out = tmp_path/'r'
    cmd = [sys.executable, '-c', 'import sys; from omnibiote_nb.cli import main; main(sys.argv[1:])', 'pretrain',
           '--preset', 'tiny', '--data', str(shards), '--out', str(out), '--tokens', str(64 * 8 * 2000)]
    p = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1'), cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    signal_at(p, out, 3, signal.SIGINT)
    text = p.communicate(timeout=60)[0]
    assert p.returncode == 130, text[-3000:]
    assert 'omnibiote: interrupted' in text and '--resume' in text and 'Traceback' not in text

def test_interrupts_held_until_the_write_is_done():
    "A Ctrl-C inside `interrupts_held` (a checkpoint write) lets the block finish, then raises KeyboardInterrupt."
    from omnibiote_nb.pretrain import interrupts_held
    order = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            order.append('written')
    assert order == ['written']
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # the handler is put back
