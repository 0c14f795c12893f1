#!/usr/bin/env bash
# The warm-process (--reuse on) GPU workshop run of 2026-12-03 (issue 15), in one device call.
# Run on the GPU machine from the repository root, with .gpu/ carried (bench/gpu/README.md:
# .gpu/node.xz and the bundle .gpu/b/c/workshop.cjs, which sits three levels below the
# repository root so that local-workers.ts finds src/trainer/worker.py from the bundle).
# Writes $OUT/gpu.tgz (run dirs without checkpoints), gpu.txt, util.txt, pretrain.log, gpu.log.
set -u
OUT=${OUT:-/tmp/out}
WORKSHOP_S=${WORKSHOP_S:-470}
ONLY=${ONLY:-grid,asha-workshop,asha-default,tpe-asha-workshop,bohb-workshop,pbt-workshop}
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/node.xz'), open('/tmp/node','wb'))" && chmod +x /tmp/node
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
nproc >> "$OUT/gpu.txt"
( while true; do echo "$(date +%s) $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)" >> "$OUT/util.txt"; sleep 10; done ) &
UPID=$!
# the pretrained base first (cached by content hash; the trials then find it), so no trial waits for it
t0=$(date +%s)
python3 src/trainer/pretrain.py --model tiny-bloom > "$OUT/pretrain.log" 2>&1
echo "pretrain rc=$? $(( $(date +%s) - t0 )) s" >> "$OUT/pretrain.log"
t0=$(date +%s)
# the lr range moved up per the cold run's sweep (best 3e-5 at the old range's upper edge;
# workshop.ts's chooseLrs rule: the sweep lrs either side of the best, 1e-5 and 1e-4)
timeout -s INT "$WORKSHOP_S" /tmp/node .gpu/b/c/workshop.cjs --out /tmp/gpu --parallel --gpus 0 --reuse on \
  --lr-range 1e-5,1e-4 --grid-lrs 1e-5,3e-5,1e-4 --only "$ONLY" > "$OUT/gpu.log" 2>&1
echo "rc=$? wall $(( $(date +%s) - t0 )) s" >> "$OUT/gpu.log"
kill "$UPID" 2>/dev/null
tar czf "$OUT/gpu.tgz" --exclude=checkpoints --exclude='*.safetensors' --exclude='*.pt' --exclude='*.bin' -C /tmp gpu
ls -la "$OUT"
tail -40 "$OUT/gpu.log"
