"""Life-Code mode's hybrid encoder (32_hybrid_encoder) against the pure-attention OmniBioTE encoder: time and memory per
token against context length.

Both encoders: `hybrid_encoder.BENCH_SHAPE` (4 blocks, width 64, 2 heads, vocabulary 329; the hybrid alternates a
long-convolution mixer block and an attention block over windows of 512 tokens). One record of T tokens per window
(batch 1), one forward + backward (loss: mean square of the final states), after one untimed warm-up, each point in a
fresh process (`context_point`): wall time, the growth of the process's peak resident memory, and the bytes autograd
saves for backward (deterministic). Lengths 1k..16k for both and 32k, 64k for the hybrid alone (attention over a
whole 32k record takes minutes here). Ratios are hybrid over attention at the same length, measured in the same run.
"""
import math
import numpy as np
from omnibiote_nb.hybrid_encoder import context_curves, LENGTHS, BENCH_SHAPE

def bench() -> dict:
    df = context_curves(LENGTHS, progress=False)
    out = {'shape': BENCH_SHAPE, 'lengths': LENGTHS, 'points': df.round(5).to_dict('records')}
    h = df[df.model == 'hybrid']
    slope = np.polyfit(h.tokens, h.saved_mb, 1)   # saved activations against length: a line if memory grows linearly
    fit = np.polyval(slope, h.tokens)
    out['hybrid_saved_mb_per_token_fit'] = float(slope[0])
    out['hybrid_saved_linear_max_rel_residual'] = float(np.max(np.abs(fit - h.saved_mb) / h.saved_mb))
    both = df.pivot(index='tokens', columns='model', values='ms_per_token').dropna()
    out['ms_per_token_ratio_hybrid_over_attention'] = {int(t): round(float(r.hybrid / r.attention), 4) for t, r in both.iterrows()}
    mem = df.pivot(index='tokens', columns='model', values='mb_per_token').dropna()
    out['mb_per_token_ratio_hybrid_over_attention'] = {int(t): round(float(r.hybrid / r.attention), 4) if r.attention else math.nan
                                                       for t, r in mem.iterrows()}
    return out

if __name__ == '__main__':
    import json
    print(json.dumps(bench(), indent=1))
