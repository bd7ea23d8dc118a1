#!/usr/bin/env python3
"""CPU-scale ablation for 08_upstream: true RoPE against the released models' cos scaling, at an equal budget.

    python tools/ablation_positions.py [--out /tmp/ablation_positions] [--tokens 4000000] [--folds 3]

Two multi-omic per-residue models of one size, same data, seed, budget and schedule, differing only in
`positions` ('rope' | 'cos'); then each is fine-tuned on the first ProNAB folds (binding preset 'cpu').
Writes benchmarks/ablation_positions.json (held-out MLM loss per modality, Pearson r and MAE per fold).
"""
import argparse, functools, json, sys, time
from pathlib import Path
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pretrain_with(positions, preset, data, out, tokens):
    "Our pretraining, with every model it builds set to `positions`."
    import omnibiote_nb.pretrain as P
    from omnibiote_nb.model import preset as model_preset
    P.model_preset = functools.partial(model_preset, positions=positions)
    try: return P.pretrain(preset, data, out, resume=True, tokens=tokens, progress=False)
    finally: P.model_preset = model_preset


def binding(model_dir, folds, seed=0):
    "Pearson r and MAE of the model fine-tuned on each of `folds` (binding preset 'cpu')."
    from omnibiote_nb.binding import PRESETS, pronab_folds, fold_parts, fit_fold, pearson
    from omnibiote_nb.model import OmniBioTE
    p = PRESETS['cpu']
    df, table = pronab_folds()
    rows = []
    for k in folds:
        tr, te = fold_parts(df, table, k, p, seed)
        pred, _ = fit_fold('omnibiote', df, tr, te, p, [OmniBioTE.load(model_dir)], seed + k)
        y = df.dG.to_numpy()[te]
        rows.append(dict(fold=k, pearson=pearson(pred, y), mae=float(np.abs(pred - y).mean())))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', type=Path, default=Path('/tmp/ablation_positions'))
    ap.add_argument('--runs', type=Path, default=REPO / 'runs', help='run folder holding (or to hold) shards/char')
    ap.add_argument('--preset', default='cpu-2')
    ap.add_argument('--tokens', type=int, default=4_000_000)
    ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--result', type=Path, default=REPO / 'benchmarks' / 'ablation_positions.json')
    a = ap.parse_args()
    torch.set_num_threads(1)
    from omnibiote_nb.shards import corpus_shards
    from omnibiote_nb.core import write_json
    data = corpus_shards('char', a.runs)
    res = dict(preset=a.preset, tokens=a.tokens, tokenizer='char', modality='multi', binding_preset='cpu', folds=list(range(a.folds)), runs={})
    for positions in ('rope', 'cos'):
        t0 = time.time()
        model = pretrain_with(positions, a.preset, data, a.out / positions, a.tokens)
        summary = json.loads((a.out / positions / 'summary.json').read_text())
        res['runs'][positions] = dict(val=summary['val'], tokens=summary['tokens'], pretrain_s=round(time.time() - t0, 1),
                                      binding=binding(model, range(a.folds)))
        print(positions, summary['val'], res['runs'][positions]['binding'], flush=True)
    write_json(a.result, res)
    print(f'wrote {a.result}')


if __name__ == '__main__':
    main()
