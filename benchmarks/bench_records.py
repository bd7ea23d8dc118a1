"""Attention by records (`model.Records`) against one masked attention call, in a whole training step on real windows.

Windows: the bundled protein records (every split), tokenised with the bundled BPE tokenizer and packed into windows
of T tokens by `pretrain.pack` (random order, seed 0), masked as pretraining masks them (`mask_window`), batch 8.
For each (preset, T): a training step (forward, MLM loss at the masked positions, backward, AdamW) with attention
forced through the boolean mask and forced through `Records`, interleaved, on the same batches; median seconds per
batch. `speedup` > 1 means `Records` is faster. `chosen` is the fraction of these batches on which the model's own
rule (`attention_mask`) takes `Records`; `work` the mean of its grouped attention work over the full window's.
"""
import functools, statistics, time
import numpy as np, torch
import omnibiote_nb.model as M
from omnibiote_nb.model import OmniBioTE, preset, Records
from omnibiote_nb.tokenizers import BPETokenizer, corpus
from omnibiote_nb.stream import pack, build_window, mask_window, collate

CASES = [('cpu-4', 256), ('cpu-4', 384), ('cpu-6', 512), ('cpu-8', 512)]
B, N_BATCH, WARMUP, REPEATS = 8, 3, 1, 5

class _Encoded:
    "Token arrays in memory, read the way `build_window` reads shards."
    def __init__(self, enc): self.enc, self.lengths = enc, np.array([len(e) for e in enc])
    def tokens_of(self, r, start=0, n=None): return self.enc[r][start:None if n is None else start + n]

def windows(enc, T, n):
    "The first `n` packed windows of T tokens, masked, as pretraining builds them."
    src, rng, out = _Encoded(enc), np.random.default_rng(1), []
    pieces, ptr = pack(src.lengths, T, np.random.default_rng(0))
    for j in range(n):
        tok, doc, fixed = build_window(src, pieces[ptr[j]:ptr[j + 1]], T)
        idx, mask = mask_window(tok, fixed, rng)
        out.append(dict(idx=idx, targets=tok, doc_ids=doc, mask=mask, modality=1, records=[]))
    return out

def bench() -> dict:
    torch.manual_seed(0)
    tok = BPETokenizer.load()
    recs = list(corpus('prot', split=None))
    enc = tok.encode_batch([r.seq for r in recs], [r.tag for r in recs])
    forced = {'mask': functools.partial(M.attention_mask, min_len=10**9),
              'records': functools.partial(M.attention_mask, min_len=0, max_work=float('inf'))}
    rule, out = M.attention_mask, {}
    try:
        for size, T in CASES:
            ws = windows(enc, T, B * N_BATCH)
            batches = [collate(ws[i:i + B]) for i in range(0, len(ws), B)]
            model = OmniBioTE(preset(size, tok.vocab_size, max_len=T)).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            def step(b):
                model.mlm_loss(model(b['idx'], b['doc_ids']), b['targets'], b['mask']).backward()
                opt.step(); opt.zero_grad(set_to_none=True)
            times = {k: [] for k in forced}
            for i in range(WARMUP + REPEATS):
                for k, f in forced.items():
                    M.attention_mask = f
                    t0 = time.perf_counter()
                    for b in batches: step(b)
                    if i >= WARMUP: times[k].append((time.perf_counter() - t0) / len(batches))
                M.attention_mask = rule
            med = {k: statistics.median(v) for k, v in times.items()}
            grouped = [Records(b['doc_ids']) for b in batches]
            out[f'{size}_T{T}'] = dict(step_s_mask=med['mask'], step_s_records=med['records'],
                                       speedup=med['mask'] / med['records'],
                                       chosen=float(np.mean([isinstance(rule(b['doc_ids']), Records) for b in batches])),
                                       work=float(np.mean([g.work / g.dense_work for g in grouped])))
    finally: M.attention_mask = rule
    return dict(batch=B, batches=N_BATCH, records=len(enc), cases=out)

if __name__ == '__main__':
    import json
    print(json.dumps(bench(), indent=1))
