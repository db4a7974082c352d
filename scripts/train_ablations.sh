#!/usr/bin/env bash
# Train the refiner ablation variants (docs/refiner.md, "Ablations"): the same short budget for every
# variant, so the rows compare designs, not training time. The full model is retrained with that budget too.
# Outputs: runs/refiner_ablations/<variant>/model.pt, read by `sgdfuse eval --ablations`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/refiner_ablations}
STEPS=${STEPS:-800}
COMMON=(--steps "$STEPS" --batch 4 --crop 96 --lr 1e-3 --seed 0 --val-every "$STEPS" --threads 1 --no-progress)

$PY -m sgdfuse_ros train refiner --out "$OUT/full" "${COMMON[@]}"
$PY -m sgdfuse_ros train refiner --out "$OUT/direct" --mode direct "${COMMON[@]}"
$PY -m sgdfuse_ros train refiner --out "$OUT/conv_head" --head conv "${COMMON[@]}"
$PY -m sgdfuse_ros train refiner --out "$OUT/no_masks" --masks zeros "${COMMON[@]}"
$PY -m sgdfuse_ros train refiner --out "$OUT/single_stage" --initial average "${COMMON[@]}"
