"""Run every benchmark in one process on this machine and write the results to one JSON file.

Each `bench_*.py` module has `bench() -> dict`; ratios are against a peer measured in the same run.
"""
import argparse, importlib, json, os, platform, time
from pathlib import Path
import torch

MODULES = ['bench_data', 'bench_tokenizers', 'bench_model', 'bench_records', 'hybrid_context']

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--out', default='benchmarks/results.json')
    ap.add_argument('--only', nargs='*', default=None); a = ap.parse_args()
    out = Path(a.out)
    res = json.loads(out.read_text()) if a.only and out.exists() else {}   # --only reruns some benchmarks, keeping the others' results
    res['machine'] = {'platform': platform.platform(), 'cpus': os.cpu_count(), 'torch': torch.__version__,
                      'torch_threads': torch.get_num_threads(), 'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    for m in a.only or MODULES:
        t0 = time.time(); print(f'== {m}', flush=True)
        res[m] = importlib.import_module(f'benchmarks.{m}').bench()
        res[m]['wall_s'] = round(time.time() - t0, 1)
        print(json.dumps(res[m], indent=1), flush=True)
    tmp = out.with_suffix('.tmp'); tmp.write_text(json.dumps(res, indent=1) + '\n'); os.replace(tmp, out)
    print(f'wrote {out}')

if __name__ == '__main__': main()
