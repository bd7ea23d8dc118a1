"""OmniBioTE encoder vs Hugging Face `EsmForMaskedLM` (rotary, SDPA), CPU float32, same shapes.

Both models: width, depth, heads, vocabulary 4096, window and batch identical. Two ESMs: `esm`, whose MLP is 3*width
wide so that both have the same matmul parameters per layer (10 w^2: ours is SwiGLU w->4w, 2w->w; ESM's GELU
w->3w->w), and `esm4`, with ESM-2's own MLP of 4*width (every published ESM-2 checkpoint; 12 w^2). Dropout 0.05 on
embeddings and residual branches in both, none on attention probabilities (ESM `attention_probs_dropout_prob=0`); ESM
`token_dropout=False`. Same threads, warm-up, 9 interleaved repeats (each model first in turn), median;
`speedup_spread` gives the least and greatest ratio over the repeats, since this shared machine's speed drifts. Timing
inputs are random token ids (speed does not depend on their values).

- training: one optimiser step (AdamW, forward, backward, step). Ours runs its real pretraining path: a packed window
  of records of 50-300 tokens with document masking (attention by records, `model.Records`, which the model takes on
  such windows) and the MLM head only at the 15% masked positions. ESM: its standard masked-LM forward with `labels`
  (-100 off the masked positions) and an all-ones attention mask; it has no document masking, so it attends over the
  whole window.
- inference: `torch.inference_mode()`, last hidden states of whole records (no padding): ours given one record per row
  (it then builds no mask), ESM given an all-ones attention mask (which it drops).
- inference in bfloat16 (`infer_bf16`): the same, all three under `torch.autocast('cpu', torch.bfloat16)`, as
  `omnibiote embed --precision bf16` runs; `infer_bf16_over_fp32_ours` is what that option buys us on this CPU.
- design choices (`choices`), each against its alternative on the same inputs: our rotary autograd function against
  autograd through the real-valued (cos/sin, rotate-pairs) form, forward + backward; attention with dropout inside
  `scaled_dot_product_attention` (`dropout_p=0.05`) against without, forward + backward; attention forward with an
  all-true mask against none (what `needs_mask` saves on whole-record batches); attention by records against one
  masked call, forward + backward on the packed window (`attn_records_speedup`); our dropout (`model.Dropout`, 16
  random bits per element) against `F.dropout`, forward + backward on a (batch, window, width) tensor
  (`dropout_speedup`); and our training step under
  `torch.compile` against eager, with the compile time.
- inference against the matmul peak (`infer_fraction_of_peak`, each model's own matmul FLOPs, no head), and
  `infer_speedup_ceiling`: the peak over `esm`'s inference FLOP rate, the most `infer_speedup` could be on this machine
  at these shapes, since ours and `esm` do the same matmuls and attention at inference. `infer_profile_ours`: the
  shares of our inference time (torch.profiler, self CPU time) in matmuls, in attention and in the rest, and the
  matmuls' and attention's FLOP rates as fractions of that peak.
- on a GPU (`BENCH_DEVICE=cuda python -m benchmarks.run --only bench_model`, which `tools/gpu_check.sh` runs): the
  paper's small preset (8 layers, width 1024, 8 heads of 128) at a window of 1024, batch 16. Training runs under
  bfloat16 autocast, as pretraining does there, and its MFU is against the bfloat16 matmul peak; fp32 inference is
  against the fp32 peak (TF32 off, PyTorch's default). No profile; `Dropout` there is PyTorch's own.
- MFU: our training matmul FLOPs (`flops_per_token`, head at the masked fraction, attention over each token's own
  record: `attention_span_tokens` is the mean record length per token) per second, over the fp32 `torch.mm` rate of
  4096x4096 matrices measured in the same run. Counting attention over the whole window instead would credit us with
  work that attention by records does not do.
"""
import os, statistics, time
import torch
import torch.nn.functional as F
from omnibiote_nb.model import OmniBioTE, preset, flops_per_token, rope, rope_freqs, doc_mask, Records, Dropout

DEVICE = torch.device(os.environ.get('BENCH_DEVICE', 'cpu'))
GPU = DEVICE.type == 'cuda'
PRESET, VOCAB, T, B, MASK_RATE = ('small', 4096, 1024, 16, 0.15) if GPU else ('cpu-8', 4096, 512, 8, 0.15)
TRAIN_DTYPE = torch.bfloat16 if GPU else torch.float32   # the precision pretraining runs in on this device
WARMUP, REPEATS = 2, 9

def _sync():
    if GPU: torch.cuda.synchronize()

def _time(fn, cpu=None):
    _sync(); t0, c0 = time.perf_counter(), time.process_time(); fn(); _sync()
    if cpu is not None: cpu.append(time.process_time() - c0)
    return time.perf_counter() - t0

def matmul_peak(n=4096, repeats=5, dtype=torch.float32):
    a, b = (torch.randn(n, n, device=DEVICE, dtype=dtype) for _ in range(2))
    a @ b
    return 2 * n**3 / statistics.median(_time(lambda: a @ b) for _ in range(repeats))

def esm_like(cfg, mlp=3):
    from transformers import EsmConfig, EsmForMaskedLM
    c = EsmConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd, num_hidden_layers=cfg.n_layer,
                  num_attention_heads=cfg.n_head, intermediate_size=mlp * cfg.n_embd, position_embedding_type='rotary',
                  hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=0.0, token_dropout=False,
                  pad_token_id=1, mask_token_id=2, max_position_embeddings=cfg.max_len + 2)
    return EsmForMaskedLM._from_config(c, attn_implementation='sdpa')

def _rope_real(x, freqs):
    "The rotation written in real arithmetic, differentiated by autograd (the alternative to `model.rope`)."
    c, s = freqs.real, freqs.imag
    x1, x2 = x.float()[..., 0::2], x.float()[..., 1::2]
    return torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], -1).flatten(-2).type_as(x)

def _spread(peer, ours):
    "Least and greatest of the repeat-by-repeat ratios peer time / our time."
    r = [a / b for a, b in zip(peer, ours)]
    return [min(r), max(r)]

def _med(fn, n=5):
    fn(); return statistics.median(_time(fn) for _ in range(n))

def choices(cfg, inp, doc_ids, tokens, masked) -> dict:
    "Each design choice against its alternative, same inputs; ratios > 1 mean our choice is faster."
    g = torch.Generator().manual_seed(1)
    def rnd(*shape): return torch.randn(*shape, generator=g).to(DEVICE).requires_grad_()
    H, d = cfg.n_head, cfg.head_dim
    freqs = rope_freqs(torch.arange(T), d).unsqueeze(-2).to(DEVICE)
    x = rnd(B, T, 2 * H, d)
    def rot(f): return lambda: f(x, freqs).sum().backward()
    torch.testing.assert_close(rope(x, freqs), _rope_real(x, freqs))
    q, k, v = (rnd(B, H, T, d) for _ in range(3))
    mask = doc_mask(doc_ids)
    def att(p): return lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=1 / d).sum().backward()
    qt, kt, vt = (rnd(B, T, H, d) for _ in range(3))
    rec = Records(doc_ids)
    def grouped(): return rec.attend(qt, kt, vt, 1 / d).sum().backward()
    def masked_call(): return F.scaled_dot_product_attention(*(x.transpose(1, 2) for x in (qt, kt, vt)), attn_mask=mask, scale=1 / d).sum().backward()
    h = rnd(B, T, cfg.n_embd)
    def drop(f): return lambda: f(h).sum().backward()
    full = torch.ones(B, 1, T, T, dtype=torch.bool, device=DEVICE)
    def fwd(m): return lambda: F.scaled_dot_product_attention(q.detach(), k.detach(), v.detach(), attn_mask=m, scale=1 / d)
    model = OmniBioTE(cfg).to(DEVICE); opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    def step(m): return lambda: (model.mlm_loss(m(inp, doc_ids), tokens, masked).backward(), opt.step(), opt.zero_grad())
    t0 = time.perf_counter(); compiled = torch.compile(model); step(compiled)(); compile_s = time.perf_counter() - t0
    r = dict(rope_ours_s=_med(rot(rope)), rope_autograd_real_s=_med(rot(_rope_real)),
             attn_no_dropout_s=_med(att(0.0)), attn_dropout_s=_med(att(0.05)),
             attn_fwd_full_mask_s=_med(fwd(full)), attn_fwd_no_mask_s=_med(fwd(None)),
             attn_mask_s=_med(masked_call), attn_records_s=_med(grouped),
             dropout_ours_s=_med(drop(Dropout(cfg.dropout))), dropout_torch_s=_med(drop(lambda x: F.dropout(x, cfg.dropout, True))),
             train_eager_s=_med(step(model)), train_compiled_s=_med(step(compiled)), compile_s=compile_s)
    return r | dict(rope_speedup=r['rope_autograd_real_s'] / r['rope_ours_s'],
                    attn_dropout_slowdown=r['attn_dropout_s'] / r['attn_no_dropout_s'],
                    attn_no_mask_speedup=r['attn_fwd_full_mask_s'] / r['attn_fwd_no_mask_s'],
                    attn_records_speedup=r['attn_mask_s'] / r['attn_records_s'],
                    dropout_speedup=r['dropout_torch_s'] / r['dropout_ours_s'],
                    compile_speedup=r['train_eager_s'] / r['train_compiled_s'])

def infer_profile(model, tokens, peak, n=3) -> dict:
    "Where our inference time goes (torch.profiler self CPU time over `n` forward passes), and each part's FLOP rate."
    cfg, (b, t) = model.config, tokens.shape
    model.eval(); doc = torch.zeros_like(tokens)
    with torch.inference_mode():
        model(tokens, doc)
        with torch.profiler.profile() as p: [model(tokens, doc) for _ in range(n)]
    self_s = {e.key: e.self_cpu_time_total / 1e6 for e in p.key_averages()}
    total = sum(self_s.values())
    mm = sum(v for k, v in self_s.items() if k in ('aten::mm', 'aten::addmm', 'aten::bmm'))
    attn = sum(v for k, v in self_s.items() if 'scaled_dot_product' in k)
    mm_flops = n * b * t * cfg.n_layer * 2 * 10 * cfg.n_embd ** 2
    attn_flops = n * b * t * cfg.n_layer * 4 * t * cfg.n_embd
    return dict(matmul_share=mm / total, attention_share=attn / total, other_share=1 - (mm + attn) / total,
                matmul_fraction_of_peak=mm_flops / mm / peak, attention_fraction_of_peak=attn_flops / attn / peak)

def bench() -> dict:
    torch.manual_seed(0)
    cfg = preset(PRESET, VOCAB, max_len=T)
    models = {k: m.to(DEVICE) for k, m in dict(ours=OmniBioTE(cfg), esm=esm_like(cfg, mlp=3), esm4=esm_like(cfg, mlp=4)).items()}
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(4, VOCAB, (B, T), generator=g)
    masked = torch.rand(B, T, generator=g) < MASK_RATE
    inp = tokens.masked_fill(masked, 2)
    # a packed window: records of 50..300 tokens, each row its own run of document ids
    lens = torch.randint(50, 300, (B, 8), generator=g).cumsum(1)
    doc_ids = (torch.arange(T)[None, :, None] >= lens[:, None, :]).sum(-1)
    labels = tokens.masked_fill(~masked, -100)
    ones = torch.ones(B, T, dtype=torch.long)
    tokens, masked, inp, doc_ids, labels, ones = (x.to(DEVICE) for x in (tokens, masked, inp, doc_ids, labels, ones))

    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}
    def train(k):
        m = models[k]
        with torch.autocast(DEVICE.type, torch.bfloat16, enabled=GPU):   # on a GPU bf16-mixed, as pretraining there
            loss = m.mlm_loss(m(inp, doc_ids), tokens, masked) if k == 'ours' else m(input_ids=inp, attention_mask=ones, labels=labels).loss
        loss.backward(); opts[k].step(); opts[k].zero_grad(set_to_none=True)
    def infer(k):
        m = models[k]
        with torch.inference_mode():
            return m(tokens, torch.zeros_like(tokens)) if k == 'ours' else m.esm(input_ids=tokens, attention_mask=ones).last_hidden_state
    def infer_bf16(k):
        with torch.autocast(DEVICE.type, torch.bfloat16): return infer(k)

    peak = matmul_peak()
    phases = dict(train=train, infer=infer, infer_bf16=infer_bf16)
    names = [f'{ph}_{k}' for ph in phases for k in models]
    times, cpu = {k: [] for k in names}, {k: [] for k in names}
    load_before = os.getloadavg()[0]
    for phase, fn in phases.items():
        for m in models.values(): m.train(phase == 'train')
        for i in range(WARMUP + REPEATS):   # interleaved, so that drift in machine speed hits all
            c = {k: [] for k in names} if i < WARMUP else cpu
            keys = list(models); keys = keys[i % 3:] + keys[:i % 3]   # each model first in turn, so no place is favoured
            for k in keys:
                t = _time(lambda: fn(k), c[f'{phase}_{k}'])
                if i >= WARMUP: times[f'{phase}_{k}'].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    tok = B * T
    # attention FLOPs as the model needs them: each token attends over its own record (mean record length per token)
    span = (doc_ids[:, :, None] == doc_ids[:, None, :]).sum(-1).float().mean().item()
    train_flops = tok * flops_per_token(cfg, span, training=True, head_fraction=masked.float().mean().item())
    peak_after = matmul_peak()
    train_peak = matmul_peak(dtype=TRAIN_DTYPE) if GPU else max(peak, peak_after)
    # inference matmul FLOPs, no head: ours and `esm` do the same (10 w^2 weights per layer), `esm4` 2 w^2 more per layer
    infer_flops = {k: tok * (flops_per_token(cfg, T, training=False, head_fraction=0)
                             + (2 * 2 * cfg.n_layer * cfg.n_embd ** 2 if k == 'esm4' else 0)) for k in models}
    infer_rate = {k: infer_flops[k] / med[f'infer_{k}'] for k in models}
    def ratios(peer): return {f'{ph}_speedup{"" if peer == "esm" else "_" + peer}': med[f'{ph}_{peer}'] / med[f'{ph}_ours']
                              for ph in phases}
    return {
        'shape': {'device': torch.cuda.get_device_name() if GPU else 'cpu', 'preset': PRESET, 'n_layer': cfg.n_layer, 'n_head': cfg.n_head, 'n_embd': cfg.n_embd,
                  'vocab': VOCAB, 'seq_len': T, 'batch': B, 'threads': torch.get_num_threads(), 'esm_mlp': 3, 'esm4_mlp': 4},
        'params': {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()},
        'train_tokens_per_s': {k: tok / med[f'train_{k}'] for k in models},
        'infer_tokens_per_s': {k: tok / med[f'infer_{k}'] for k in models},
        'infer_bf16_tokens_per_s': {k: tok / med[f'infer_bf16_{k}'] for k in models},
        'infer_bf16_over_fp32_ours': med['infer_ours'] / med['infer_bf16_ours'],
        **ratios('esm'), **ratios('esm4'),
        # the same ratios repeat by repeat (each repeat times all models back to back): their least and greatest
        'speedup_spread': {f'{ph}_speedup{"" if peer == "esm" else "_" + peer}': _spread(times[f'{ph}_{peer}'], times[f'{ph}_ours'])
                           for peer in ('esm', 'esm4') for ph in phases},
        'matmul_peak_gflops': {'before': peak / 1e9, 'after': peak_after / 1e9} | ({'bf16': train_peak / 1e9} if GPU else {}),
        'train_gflops_ours': train_flops / med['train_ours'] / 1e9,
        'infer_gflops': {k: v / 1e9 for k, v in infer_rate.items()},
        'infer_fraction_of_peak': {k: v / max(peak, peak_after) for k, v in infer_rate.items()},
        # the inference speedup over `esm` that ours would have if it ran its FLOPs (the same as esm's) at the measured
        # matmul peak, attention and all: no code at these shapes on this machine can do better
        'infer_speedup_ceiling': max(peak, peak_after) / infer_rate['esm'],
        'mfu_ours': train_flops / med['train_ours'] / train_peak, 'attention_span_tokens': span,
        'train_speedup_cpu_time': cmed['train_esm'] / cmed['train_ours'],
        'infer_speedup_cpu_time': cmed['infer_esm'] / cmed['infer_ours'],
        'load_average_1min': {'before': load_before, 'after': os.getloadavg()[0]},
        'times_s': times, 'cpu_times_s': cpu,
        'infer_profile_ours': None if GPU else infer_profile(models['ours'], tokens, max(peak, peak_after)),
        'choices': choices(cfg, inp, doc_ids, tokens, masked),
    }

if __name__ == '__main__':
    import json
    print(json.dumps(bench(), indent=1))
