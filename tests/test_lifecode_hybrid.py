"Hybrid encoder (32_hybrid_encoder): document masking in the mixer, exact FFT convolution, linear activation memory, 16k contexts."
import numpy as np, torch
from omnibiote_nb.hybrid_encoder import (HybridConfig, HybridEncoder, fftconv, saved_bytes, save_hybrid, load_hybrid, HyenaMixer,
                                         mixer_records, hybrid_flops_per_token)

CFG = dict(vocab_size=329, n_layer=4, n_head=2, n_embd=32, dropout=0.0, max_len=1 << 15, attn_window=64)

def net(**kw):
    torch.manual_seed(0)
    return HybridEncoder(HybridConfig(**(CFG | kw)))

def test_fftconv_is_the_direct_convolution():
    g = torch.Generator().manual_seed(1)
    u, h = torch.randn(3, 4, 9, generator=g), torch.randn(17, 4, generator=g)
    want = torch.zeros(3, 4, 9)
    for t in range(9):
        for s in range(9): want[..., t] += h[t - s + 8] * u[..., s]
    assert torch.allclose(fftconv(u, h), want, atol=1e-4)

def test_no_leak_across_packed_records_and_padding():
    m = net().eval()
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randint(4, 329, (1, n), generator=g) for n in (200, 150, 90))
    doc = torch.cat([torch.zeros(1, 200), torch.ones(1, 150), torch.full((1, 90), 2), torch.full((1, 60), -1)], 1).long()
    pad = torch.ones(1, 60, dtype=torch.long)
    with torch.no_grad():
        h1 = m(torch.cat([a, b, c, pad], 1), doc_ids=doc)
        h2 = m(torch.cat([a, torch.randint(4, 329, (1, 150), generator=g), c, torch.randint(4, 329, (1, 60), generator=g)], 1), doc_ids=doc)
        alone = m(b)
    assert torch.equal(h1[:, :200], h2[:, :200]) and torch.equal(h1[:, 350:440], h2[:, 350:440])
    assert torch.allclose(h1[:, 200:350], alone, atol=1e-4)

def test_mixer_alone_no_gradient_across_records():
    cfg = HybridConfig(**CFG)
    mix = HyenaMixer(cfg)
    doc = torch.cat([torch.zeros(2, 100), torch.ones(2, 100)], 1).long()
    x = torch.randn(2, 200, 32, requires_grad=True)
    mix(x, mixer_records(doc))[:, :100].sum().backward()
    assert x.grad[:, 100:].abs().max().item() == 0.0 and x.grad[:, :100].abs().max().item() > 0

def test_activation_memory_linear():
    m = net().train()
    lens = [512, 1024, 2048, 4096]
    sb = [saved_bytes(m, torch.randint(4, 329, (1, T))) for T in lens]
    assert sb == [saved_bytes(m, torch.randint(4, 329, (1, T))) for T in lens]   # deterministic
    d = np.diff(sb) / np.diff(lens)
    assert np.allclose(d[1:] / d[:-1], 1.0, atol=0.02), d

def test_16k_nucleotides_forward_and_backward():
    m = net(n_layer=2, n_embd=32).train()
    idx = torch.randint(4, 329, (1, 16384))
    m(idx).pow(2).mean().backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad and p is not m.lm_head.weight)

def test_save_load(tmp_path):
    m = net().eval()
    save_hybrid(m, tmp_path/'h')
    back = load_hybrid(tmp_path/'h').eval()
    idx = torch.randint(4, 329, (2, 128))
    with torch.no_grad(): assert torch.equal(m(idx), back(idx))

def test_omnibiote_load_reads_a_hybrid_folder(tmp_path):
    "Every evaluation loads its backbone with OmniBioTE.load; a Life-Code mode folder must come back as the hybrid, not fail."
    from omnibiote_nb.model import OmniBioTE
    from omnibiote_nb.codon_tokenizer import CodonTokenizer
    m = net().eval()
    m.tokenizer = CodonTokenizer()
    save_hybrid(m, tmp_path/'h')
    back = OmniBioTE.load(tmp_path/'h').eval()
    assert isinstance(back, HybridEncoder) and isinstance(back.tokenizer, CodonTokenizer)
    idx = torch.tensor([back.tokenizer.encode('MKVLA', 'protein').astype(np.int64)])
    with torch.no_grad(): assert torch.equal(m(idx), back(idx))

def test_flops_grow_slowly():
    cfg = HybridConfig(**CFG)
    assert hybrid_flops_per_token(cfg, 1 << 16) / hybrid_flops_per_token(cfg, 1 << 10) < 1.5
