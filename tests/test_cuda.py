"""The paths that run only on a CUDA GPU: attention by records, dropout, the model, bf16-mixed pretraining with exact
resume, FSDP and `omnibiote embed --device cuda`. Skipped where torch sees no CUDA device (CI has none);
`tools/gpu_check.sh` runs them on a lent GPU. Each compares the GPU against the CPU path the other tests check.
`OMNIBIOTE_TEST_DEVICE=cpu` runs them on the CPU instead: a check of these tests' own code, not of the GPU."""
import json, os
import numpy as np, pytest, torch
import torch.nn.functional as F
from omnibiote_nb.model import Records, Dropout, OmniBioTE, doc_mask, preset
from omnibiote_nb.pretrain import read_metrics
from omnibiote_nb.embed import embed
from test_model import random_doc_ids
from test_pretrain import run, losses, shards, signal_at
from test_embed import FA, ckpt

GPU = torch.device(os.environ.get('OMNIBIOTE_TEST_DEVICE', 'cuda'))
pytestmark = pytest.mark.skipif(GPU.type == 'cuda' and not torch.cuda.is_available(), reason='no CUDA GPU')
ACCELERATOR, PRECISION = ('gpu', 'bf16-mixed') if GPU.type == 'cuda' else ('cpu', '32-true')   # pretrain's default precisions


@pytest.mark.parametrize('seed,B,T,lo,hi,pad_rows', [(0, 4, 64, 1, 9, 0), (1, 3, 300, 5, 120, 2)])
def test_records_on_cuda_equal_masked_attention(seed, B, T, lo, hi, pad_rows):
    "On the GPU too, attention by records gives the masked kernel's values and gradients (float32)."
    g = torch.Generator().manual_seed(seed)
    doc = random_doc_ids(g, B, T, lo, hi, pad_rows).to(GPU)
    q, k, v = (torch.randn(B, T, 4, 16, generator=g).to(GPU).requires_grad_() for _ in range(3))
    ref = F.scaled_dot_product_attention(*(x.transpose(1, 2) for x in (q, k, v)), attn_mask=doc_mask(doc), scale=1 / 16).transpose(1, 2)
    out = Records(doc).attend(q, k, v, 1 / 16)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    grad = torch.randn_like(out)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), grad), torch.autograd.grad(ref, (q, k, v), grad)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_model_on_cuda_equals_cpu_and_masks_documents():
    "The same weights give the CPU's hidden states on the GPU, and a record packed beside others equals it alone."
    torch.manual_seed(0)
    cfg = preset('tiny', 64, max_len=512, dropout=0.0)
    cpu = OmniBioTE(cfg).eval(); gpu = OmniBioTE(cfg).to(GPU).eval(); gpu.load_state_dict(cpu.state_dict())
    g = torch.Generator().manual_seed(5)
    doc = random_doc_ids(g, 2, 512, 20, 120, 1)
    idx = torch.randint(4, 64, (2, 512), generator=g)
    with torch.no_grad():
        h_cpu, h_gpu = cpu(idx, doc), gpu(idx.to(GPU), doc.to(GPU))
        torch.testing.assert_close(h_gpu.cpu(), h_cpu, atol=1e-4, rtol=1e-4)
        first = doc[0] == doc[0, 0]   # the first record of row 0, alone in a batch of one
        alone = gpu(idx[:1, first].to(GPU), torch.zeros(1, int(first.sum()), dtype=torch.long, device=GPU))
        torch.testing.assert_close(alone[0], h_gpu[0, first.to(GPU)], atol=1e-4, rtol=1e-4)


def test_dropout_on_cuda():
    "On the GPU `Dropout` is PyTorch's: the dropped fraction is p, the mean is kept, and eval is the identity."
    d, x = Dropout(0.05).train(), torch.ones(4096, 1024, device=GPU)
    y = d(x)
    assert abs((y == 0).float().mean().item() - 0.05) < 2e-3 and abs(y.mean().item() - 1) < 5e-3
    assert torch.equal(d.eval()(x), x)


def test_pretrain_one_gpu_bf16_mixed_resumes(shards, tmp_path):
    "One GPU: bf16-mixed by default, it learns, and a run killed mid-way and resumed follows the uninterrupted one."
    kw = dict(preset='tiny', data=str(shards), progress=False, accelerator=ACCELERATOR, devices=1)
    run(tmp_path, kw | dict(out=str(tmp_path/'a')))
    b = tmp_path/'b'
    signal_at(run(tmp_path, kw | dict(out=str(b)), slow=0.5, wait=False), b, 6)
    assert max(losses(b)) < 12
    run(tmp_path, kw | dict(out=str(b), resume=True))
    la, lb = losses(tmp_path/'a'), losses(b)
    assert sorted(la) == sorted(lb) == list(range(1, 13)) and la[12] < 0.75 * la[1]
    np.testing.assert_allclose([lb[s] for s in la], list(la.values()), rtol=1e-2)   # GPU attention backward is not bitwise
    assert json.loads((b/'summary.json').read_text())['precision'] == PRECISION
    assert OmniBioTE.load(b/'model') is not None and read_metrics(b)['val'][-1]['step'] == 12


def test_fsdp_on_one_gpu(shards, tmp_path):
    "FSDP (NCCL) on the GPU: trains, and writes a full model the CPU loads."
    kw = dict(preset='tiny', data=str(shards), progress=False, accelerator=ACCELERATOR, devices=1, strategy='fsdp', tokens=64 * 8 * 4)
    run(tmp_path, kw | dict(out=str(tmp_path/'f')))
    assert sorted(losses(tmp_path/'f')) == [1, 2, 3, 4]
    m = OmniBioTE.load(tmp_path/'f'/'model')
    assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in OmniBioTE(m.config).parameters())


@pytest.mark.skipif(GPU.type != 'cuda' or torch.cuda.device_count() < 2, reason='needs 2 GPUs')
def test_ddp_two_gpus_match_one(shards, tmp_path):
    "DDP over NCCL on two GPUs: the losses of one GPU at the same global batch (float32, dropout off)."
    kw = dict(preset='tiny', data=str(shards), progress=False, dropout=0.0, tokens=64 * 8 * 4, accelerator='gpu', precision='32-true')
    run(tmp_path, kw | dict(out=str(tmp_path/'one'), devices=1))
    run(tmp_path, kw | dict(out=str(tmp_path/'two'), devices=2, strategy='ddp'))
    l1, l2 = losses(tmp_path/'one'), losses(tmp_path/'two')
    np.testing.assert_allclose([l2[s] for s in l1], list(l1.values()), rtol=1e-3)


@pytest.mark.parametrize('precision,tol', [('32', 1e-4), ('bf16', 5e-2)])
def test_embed_on_cuda_equals_cpu(tmp_path, ckpt, precision, tol):
    "`omnibiote embed --device cuda` gives the CPU's embeddings (bf16: to its rounding)."
    (tmp_path/'in.fa').write_text(FA)
    embed(tmp_path/'in.fa', ckpt, tmp_path/'cpu.npz', progress=False)
    embed(tmp_path/'in.fa', ckpt, tmp_path/'gpu.npz', progress=False, device=str(GPU), precision=precision)
    a, b = np.load(tmp_path/'cpu.npz'), np.load(tmp_path/'gpu.npz')
    assert list(a['ids']) == list(b['ids']) and len(a['ids']) == 3
    np.testing.assert_allclose(b['mean'], a['mean'], rtol=tol, atol=tol * np.abs(a['mean']).max())
