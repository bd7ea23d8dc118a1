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
