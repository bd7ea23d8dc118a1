"Attention maps of a block (04_model.attention_maps) and the attention-map contact probe (20_attention_probe)."
import subprocess, sys, types
from pathlib import Path
import numpy as np, pytest, torch
from omnibiote_nb.model import OmniBioTE, preset, rope_freqs, positions

REPO = Path(__file__).resolve().parents[1]
BEFORE = '32aaf9f'   # the last commit of model.py without attention_maps


def _tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return OmniBioTE(preset('tiny', 49, **kw)).eval()


def _inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(5, 49, (3, 40), generator=g)
    docs = torch.zeros(3, 40, dtype=torch.long)
    docs[1, 25:] = -1            # padding
    docs[2, 15:] = 1             # two packed records
    return idx, docs


def test_layer0_by_hand():
    "Layer 0's maps are softmax(q k^T / d) of the embedding's LayerNorm, with RoPE, computed here from the weights."
    m = _tiny()
    idx, _ = _inputs()
    idx = idx[:1]
    x = m.h[0].ln_1(m.wte(idx))[0]
    C, H = m.config.n_embd, m.config.n_head
    d = C // H
    W = m.h[0].attn.c_attn.weight
    q, k = (x @ W[:C].T).view(-1, H, d), (x @ W[C:2 * C].T).view(-1, H, d)
    f = rope_freqs(torch.arange(idx.shape[1]), d)[:, None]
    rot = lambda t: torch.view_as_real(torch.view_as_complex(t.unflatten(-1, (-1, 2))) * f).flatten(-2)
    q, k = rot(q), rot(k)
    hand = torch.einsum('qhd,khd->hqk', q, k).div(d).softmax(-1)
    got = m.attention_maps(idx, rows=slice(2, 30), cols=slice(5, 40))
    torch.testing.assert_close(got[0, 0], hand[:, 2:30, 5:40].detach(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('positions_kind', ['rope', 'cos'])
def test_maps_equal_eager(positions_kind):
    "Every layer's block equals the explicit path's maps: packed records, padding, slices and index tensors."
    m = _tiny(positions=positions_kind)
    idx, docs = _inputs()
    with torch.no_grad(): full = m(idx, docs, return_attn=True)[1]
    for rows, cols in ((slice(1, 12), slice(14, 40)), (torch.tensor([0, 3, 20, 39]), torch.arange(10, 30)), (slice(None), slice(None))):
        got = m.attention_maps(idx, docs, rows=rows, cols=cols)
        torch.testing.assert_close(got, full[..., rows, :][..., cols], atol=1e-6, rtol=1e-5)
    assert got.shape == full.shape


def test_maps_rows_sum_to_one_and_stay_in_record():
    m = _tiny()
    idx, docs = _inputs()
    got = m.attention_maps(idx, docs)
    torch.testing.assert_close(got.sum(-1), torch.ones(got.shape[:-1]), atol=1e-5, rtol=0)
    assert got[2, :, :, :15, 15:].abs().max() == 0 and got[1, :, :, :, 25:][..., :25, :].abs().max() == 0


def test_maps_long_input_records_path():
    "A window long enough for attention by records (Records) still gives the explicit path's maps."
    m = _tiny()
    idx = torch.randint(5, 49, (1, 420))
    docs = torch.arange(420)[None] // 70
    with torch.no_grad(): full = m(idx, docs, return_attn=True)[1]
    torch.testing.assert_close(m.attention_maps(idx, docs, rows=slice(70, 140), cols=slice(60, 150)), full[..., 70:140, 60:150], atol=1e-5, rtol=1e-5)


def _model_before():
    "model.py as it was before attention_maps, loaded from git (None where the history is not there)."
    try: src = subprocess.run(['git', 'show', f'{BEFORE}:omnibiote_nb/model.py'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError): return None
    mod = types.ModuleType('omnibiote_nb._model_before')
    mod.__package__ = 'omnibiote_nb'
    sys.modules[mod.__name__] = mod          # dataclasses look their module up
    exec(compile(src, 'model_before.py', 'exec'), mod.__dict__)
    return mod


def test_forward_bit_identical_to_before():
    "The ordinary forward (and the explicit path) give bit-identical outputs with the code before attention_maps."
    old = _model_before()
    if old is None: pytest.skip(f'git history with {BEFORE} not available')
    new = _tiny()
    ref = old.OmniBioTE(new.config).eval()
    ref.load_state_dict(new.state_dict())
    idx, docs = _inputs()
    long_idx, long_docs = torch.randint(5, 49, (1, 420)), torch.arange(420)[None] // 70
    with torch.no_grad():
        for a in ((idx,), (idx, docs), (long_idx, long_docs)):
            assert torch.equal(new(*a), ref(*a))
            h1, m1 = new(*a, return_attn=True)
            h0, m0 = ref(*a, return_attn=True)
            assert torch.equal(h1, h0) and torch.equal(m1, m0)
        new.attention_maps(idx, docs, rows=slice(2, 9))
        assert torch.equal(new(idx, docs), ref(idx, docs))


# --- the probe (20_attention_probe) ---
from omnibiote_nb.attention_probe import windows, select, f1, gains, ConvProbe, batch_windows, probe_models, PRESETS, _score_bound
from omnibiote_nb.contacts import contact_data, contact_folds, check_contact_folds
from omnibiote_nb.tokenizers import CharTokenizer, BPETokenizer


@pytest.fixture(scope='module')
def cx(): return contact_data()


def test_windows_cover_every_residue_once(cx):
    for tok in (CharTokenizer(), BPETokenizer.load()):
        for row in cx.iloc[::40].itertuples():
            ws = windows(tok, row, 128, 32)
            assert np.array_equal(np.concatenate([w['residues'] for w in ws]), np.arange(row.length))
            assert all(len(w['ids']) <= 128 and tok.piece_len[w['ids'][w['cols']]].min() > 0 for w in ws)
            assert all(w['res_row'].max() < w['rows'][1] - w['rows'][0] for w in ws)


def test_folds_do_not_leak(cx):
    "The probe's folds: no protein, nor a homolog above the threshold, on both sides of any fold (upstream's mistake 2)."
    folds = contact_folds(cx)
    assert check_contact_folds(cx, folds) == []
    for tr, te in folds: assert not set(cx.protein.iloc[tr]) & set(cx.protein.iloc[te])


def test_select_is_the_best_cut():
    rng = np.random.default_rng(0)
    p, y = rng.random(500), (rng.random(500) < 0.2).astype(float)
    assert f1(p, y, select(p, y)) == pytest.approx(max(f1(p, y, c) for c in p))


def test_probe_ignores_padding():
    "A window's logits do not depend on the padding of a batch."
    torch.manual_seed(0)
    probe = ConvProbe(4, 8, 3).eval()
    w = dict(X=torch.rand(4, 7, 5), y=torch.zeros(7, 3))
    big = dict(X=torch.rand(4, 11, 9), y=torch.zeros(11, 3))
    alone = probe(*batch_windows([w])[:2])
    padded = probe(*batch_windows([w, big])[:2])
    # rows next to the padded edge see zeros either way (the convolution's own padding), so rows and keys match exactly
    torch.testing.assert_close(alone[0], padded[0, :7], atol=1e-6, rtol=1e-5)


def test_gains_pair_folds():
    import pandas as pd
    rows = [dict(size='s', threshold=8.0, kind=k, fold=f, f1=v + (0.1 if k == 'dG fine-tuned' else 0), f1_novel=v, auroc=0.5)
            for f, v in enumerate([0.3, 0.4, 0.5]) for k in ('base', 'dG fine-tuned')]
    g = gains(pd.DataFrame(rows)).iloc[0]
    assert g.f1_gain == pytest.approx(0.1) and g.f1_sem == pytest.approx(0.0, abs=1e-12) and g.f1_novel_gain == pytest.approx(0.0)


def test_score_bound_is_an_upper_bound(cx):
    from omnibiote_nb.pronab import aligner
    al, seqs = aligner(), cx.protein.iloc[:6].tolist()
    b = _score_bound(seqs)
    for i in range(6):
        for j in range(6): assert al.score(seqs[i], seqs[j]) <= min(b[i], b[j]) + 1e-9


def test_presets():
    assert PRESETS['paper'] | {} == PRESETS['paper']
    p = PRESETS['paper']
    assert (p['steps'], p['batch'], p['lr'], p['betas'], p['weight_decay'], p['eps'], p['channels']) == (1000, 256, 1e-3, (0.9, 0.999), 1e-2, 1e-8, 64)
    assert probe_models(REPO/'does-not-exist') == []
