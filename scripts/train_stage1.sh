#!/usr/bin/env bash
# Reproduce the shipped stage-1 and SeAFusion weights (CPU, 1 thread each, about an hour on 2 cores).
# Train split only: msrs_train30 + llvip_train32 + every 10th frame of clips 0113_1714, 0117_1605, 0117_1620,
# minus the validation pairs listed in sgdfuse_ros/training/data.py (VALIDATION).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p runs
nohup $PY -m sgdfuse_ros train stage1 --out runs/stage1 --steps 1500 --batch 8 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 500 --threads 1 --resume > runs/stage1.out 2>&1 &
nohup $PY -m sgdfuse_ros train seafusion --out runs/seafusion --steps 400 --batch 6 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 200 --threads 1 --resume > runs/seafusion.out 2>&1 &
wait
# Ship: copy the weights and record them in sgdfuse_ros/weights/manifest.json.
$PY -m sgdfuse_ros.training.ship runs/stage1/model.pt sgdfuse_ros/weights/stage1.pt
$PY -m sgdfuse_ros.training.ship runs/seafusion/model.pt sgdfuse_ros/weights/seafusion.pt
