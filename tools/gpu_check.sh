#!/usr/bin/env bash
# The GPU checks in one short run (about 6 minutes on one H200), for a session lent a GPU through the `device` tool:
#   1. tests/test_cuda.py: attention by records, the model, dropout, bf16-mixed pretraining with exact resume, FSDP and
#      `embed --device cuda`, each against the CPU path;
#   2. benchmarks/bench_model.py on the GPU: the paper's small preset against transformers' ESM (speed ratios, MFU);
#   3. the real pretraining loop on the GPU (preset small, bundled corpus, 8 steps of 1M tokens): tokens/s of the whole
#      loop, data pipeline included, next to the benchmark's model-only rate.
# It needs the repository root as working folder and a python3 with CUDA torch, lightning, transformers, safetensors
# and sentencepiece (the device image has them), plus fastcore, carried as a wheel:
#   here:       echo /.whl/ >> .git/info/exclude; .venv/bin/pip download --no-deps --only-binary=:all: -d .whl "fastcore<2"
#   the device: run(command="bash tools/gpu_check.sh", carry=[".whl"], timeout_s=590)
# Everything it measures goes to $OUT (default gpu_check/); the exit status is 1 if any part failed.
set -uo pipefail
OUT=${OUT:-gpu_check}; mkdir -p "$OUT"
if compgen -G '.whl/*.whl' >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMNIBIOTE_RUNS=/tmp/gpu_runs
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(), torch.cuda.device_count(), 'GPUs')" | tee "$OUT/gpu.txt" || exit 1
status=0

echo "== 1. CUDA tests"
timeout 200 python3 -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py 2>&1 | tee "$OUT/test_cuda.log" || status=1

echo "== 2. bench_model on the GPU"
BENCH_DEVICE=cuda timeout 200 python3 -m benchmarks.run --only bench_model --out "$OUT/bench_cuda.json" > "$OUT/bench_cuda.log" 2>&1 || status=1
tail -n 3 "$OUT/bench_cuda.log"

echo "== 3. pretraining loop on the GPU"
timeout 170 python3 -c "from omnibiote_nb.cli import main; main(['pretrain', '--preset', 'small', '--tokens', '8388608', '--accum', '32', '--out', '/tmp/gpu_runs/small'])" \
  > "$OUT/pretrain_small.log" 2>&1 || status=1
python3 - "$OUT" <<'EOF' || status=1
import json, sys
from pathlib import Path
run, out = Path('/tmp/gpu_runs/small'), Path(sys.argv[1])
steps = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines() if json.loads(l)['kind'] == 'train']
a, b = steps[1], steps[-1]   # from the end of step 2 on: no start-up, no compile, no first-batch allocation
r = dict(summary=json.loads((run/'summary.json').read_text()), steady_tokens_per_s=(b['tokens'] - a['tokens']) / (b['time'] - a['time']),
         losses=[s['loss'] for s in steps])
(out/'pretrain_small.json').write_text(json.dumps(r, indent=1)); print(json.dumps(r))
EOF
exit $status
