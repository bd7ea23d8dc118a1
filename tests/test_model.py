import pytest, torch
import torch.nn.functional as F
from omnibiote_nb.model import Records, doc_mask, attention_mask, OmniBioTE, preset


def random_doc_ids(g, B, T, lo, hi, pad_rows):
    "Rows of packed records of lo..hi tokens; `pad_rows` rows end in padding instead of a cut record."
    rows = []
    for b in range(B):
        ids, d = [], 0
        while len(ids) < T:
            ids += [d] * int(torch.randint(lo, hi + 1, (1,), generator=g)); d += 1
        ids = ids[:T]
        if b < pad_rows:
            n_pad = int(torch.randint(1, T // 2 + 1, (1,), generator=g))
            ids[T - n_pad:] = [-1] * n_pad
        rows.append(ids)
    return torch.tensor(rows)


@pytest.mark.parametrize('seed,B,T,lo,hi,pad_rows', [(0, 4, 64, 1, 9, 0), (1, 3, 50, 5, 40, 2), (2, 5, 97, 1, 97, 5),
                                                     (3, 2, 128, 20, 30, 1), (4, 6, 33, 1, 3, 3)])
def test_records_equal_masked_attention(seed, B, T, lo, hi, pad_rows):
    "Attention by records gives the masked kernel's values and gradients on random packings with padding."
    g = torch.Generator().manual_seed(seed)
    doc = random_doc_ids(g, B, T, lo, hi, pad_rows)
    H, d = 3, 8
    q, k, v = (torch.randn(B, T, H, d, generator=g, requires_grad=True) for _ in range(3))
    ref = F.scaled_dot_product_attention(*(x.transpose(1, 2) for x in (q, k, v)), attn_mask=doc_mask(doc), scale=1 / d).transpose(1, 2)
    r = Records(doc)
    out = r.attend(q, k, v, 1 / d)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    grad = torch.randn(out.shape, generator=g)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), grad), torch.autograd.grad(ref, (q, k, v), grad)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert sum(n * L for n, L, _ in r.groups) == len(r.idx) and r.work <= r.dense_work
    assert sorted(r.back.tolist()) == sorted(set(r.back.tolist()))   # every position read back from its own slot


def test_model_same_hidden_states_by_records_and_by_mask():
    "A whole model in training mode (dropout off) gives the same loss and gradients either way."
    torch.manual_seed(0)
    cfg = preset('tiny', 64, max_len=512, dropout=0.0)
    m = OmniBioTE(cfg)
    g = torch.Generator().manual_seed(5)
    doc = random_doc_ids(g, 2, 512, 20, 120, 1)
    idx = torch.randint(4, 64, (2, 512), generator=g)
    masked = torch.rand(2, 512, generator=g) < 0.15
    assert isinstance(attention_mask(doc), Records)
    import omnibiote_nb.model as M
    losses, grads = [], []
    for f in (M.attention_mask, lambda d, explicit=False: doc_mask(d)):
        orig, M.attention_mask = M.attention_mask, f
        try:
            loss = m.mlm_loss(m(idx, doc), idx, masked)
            losses.append(loss); grads.append(torch.autograd.grad(loss, list(m.parameters())))
        finally: M.attention_mask = orig
    torch.testing.assert_close(losses[0], losses[1], atol=1e-5, rtol=1e-5)
    for a, b in zip(*grads): torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_records_gradients_are_deterministic():
    "Attention by records gives bitwise the same gradients run after run (exact resume depends on it)."
    g = torch.Generator().manual_seed(5)
    doc = random_doc_ids(g, 3, 400, 20, 120, 2)
    idx, masked = torch.randint(4, 64, (3, 400), generator=g), torch.rand(3, 400, generator=g) < 0.15
    assert isinstance(attention_mask(doc), Records)
    grads = []
    for _ in range(2):
        torch.manual_seed(0); m = OmniBioTE(preset('tiny', 64, max_len=400)).train()
        loss = m.mlm_loss(m(idx, doc), idx, masked)
        grads.append(torch.cat([x.flatten() for x in torch.autograd.grad(loss, list(m.parameters()))]))
    assert torch.equal(*grads)
