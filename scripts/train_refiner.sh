#!/usr/bin/env bash
# Reproduce the shipped refiner weights (stage 2): the exact commands that produced them (CPU only).
# Data: the train split with the validation frames held out (sgdfuse_ros/training/data.py); the initial
# fusion is the shipped stage1.pt; masks from the offline provider. Arrays are cached in runs/refiner_cache.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p runs

# 1. Teacher: DDPM (x0-prediction) + mask-guided losses, 2000 steps (about 10 min on an idle 2-core CPU).
$PY -m sgdfuse_ros train refiner --out runs/teacher_s2 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 500 --threads 1 --no-progress

# 2. Student: 2 network evaluations, distilled from the teacher's 4-step DDIM samples (on the validation set
#    the teacher sampled with 4 steps beats stage 1 on more metrics than with 20: docs/refiner.md).
$PY -m sgdfuse_ros train distill --teacher runs/teacher_s2/model.pt --out runs/student_s2_t4 --student-steps 2 \
    --teacher-steps 4 --seed 0 --threads 2 --no-progress

# 3. Ship both and record them in sgdfuse_ros/weights/manifest.json (step 6 replaces this student).
$PY -m sgdfuse_ros ship --overwrite runs/teacher_s2/model.pt sgdfuse_ros/weights/refiner_teacher.pt
$PY -m sgdfuse_ros ship --overwrite runs/student_s2_t4/model.pt sgdfuse_ros/weights/refiner_student.pt

# 4. Choose the student's network evaluations on the validation set (against stage 1; the winner, 1, was the
#    preset's until step 5). A 3x longer-trained teacher is scored as a candidate too (it did not win).
$PY -m sgdfuse_ros train refiner --out runs/teacher_s3 --steps 6000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 2000 --threads 1 --no-progress
T3=runs/teacher_s3/model.pt
# The 2-evaluation student, shipped as refiner_student.pt until step 6 (the selections below ran with it
# shipped, so their selection.json files name it just `sgdfuse`), from a seeded x_T as this selection ran it.
P=runs/student_s2_t4/model.pt
S=sgdfuse:refiner.noise=seeded:refiner.weights=$P
$PY -m sgdfuse_ros select --overwrite $S:refiner.steps=2 $S:refiner.steps=1 $S:refiner.steps=4 \
    sgdfuse-teacher:refiner.steps=4 "sgdfuse-teacher:refiner.weights=$T3:refiner.steps=4" \
    "sgdfuse-teacher:refiner.weights=$T3:refiner.steps=1" --baselines stage1 --out docs/results/refiner_selection

# 5. Choose the sampler's start x_T (seeded draw vs zero, the prior's mean) together with the evaluations, on
#    the validation set (the winner, 2 evaluations from x_T = 0, was the preset's only until step 6).
Z=sgdfuse:refiner.noise=zero:refiner.weights=$P
$PY -m sgdfuse_ros select --overwrite $S:refiner.steps=1 $S:refiner.steps=2 $Z:refiner.steps=1 $Z:refiner.steps=2 \
    $Z:refiner.steps=4 --baselines stage1 --out docs/results/refiner_noise_selection

# 6. Other students, scored with the other candidates in one run of the rule; the preset `sgdfuse` uses the
#    winner: the student distilled for 1 evaluation, run from x_T = 0, shipped as refiner_student.pt (last
#    line). Its run was interrupted at step 600 and continued with --resume (the state includes the RNGs).
$PY -m sgdfuse_ros train distill --teacher sgdfuse_ros/weights/refiner_teacher.pt --out runs/student_s2_t4_1step \
    --student-steps 1 --teacher-steps 4 --seed 0 --threads 1 --no-progress
$PY -m sgdfuse_ros train distill --teacher "$T3" --out runs/student_s3_w0 --student-steps 2 --teacher-steps 4 \
    --seed 0 --threads 1 --no-progress
$PY -m sgdfuse_ros train distill --teacher "$T3" --out runs/student_s3_w1 --student-steps 2 --teacher-steps 4 \
    --w-target 1 --seed 0 --threads 1 --no-progress
O=runs/student_s2_t4_1step/model.pt
$PY -m sgdfuse_ros select --overwrite $S:refiner.steps=1 $Z:refiner.steps=1 $Z:refiner.steps=2 $Z:refiner.steps=4 \
    sgdfuse:refiner.noise=seeded:refiner.steps=1:refiner.weights=$O \
    sgdfuse:refiner.noise=zero:refiner.steps=1:refiner.weights=$O \
    sgdfuse:refiner.noise=zero:refiner.steps=2:refiner.weights=runs/student_s3_w0/model.pt \
    sgdfuse:refiner.noise=zero:refiner.steps=2:refiner.weights=runs/student_s3_w1/model.pt --baselines stage1 \
    --out docs/results/refiner_default_selection
$PY -m sgdfuse_ros ship --overwrite $O sgdfuse_ros/weights/refiner_student.pt

# 7. Tried, not shipped (docs/refiner.md, "Three attempts at the fidelity gap"): pseudo-target variants scored
#    on the validation set (baselines stage 1 and GFF), two teachers (the selected target; task losses inside
#    the masks only), their 1-evaluation students, and one run of the rule with the shipped default (it stays).
V=("" "stretch_low=0,stretch_high=100" "stretch=0" "stretch_low=0.1,stretch_high=99.9"
   "stretch_low=0.2,stretch_high=99.8" "stretch_low=0.5,stretch_high=99.5" "knee=0.97" "activity_sigma=0"
   "activity_sigma=0.5" "mask_gain=0" "activity_sigma=0.5,mask_gain=0" "initial_share=0.6" "lam=0.2"
   "stretch_low=0.1,stretch_high=99.9,initial_share=0.6" "stretch_low=0.1,stretch_high=99.9,mask_gain=0.5"
   "stretch_low=0.1,stretch_high=99.9,lam=0.02" "stretch_low=0.5,stretch_high=99.5,mask_gain=0"
   "stretch_low=0.5,stretch_high=99.5,activity_sigma=0.5,mask_gain=0")
VARIANTS=(); for v in "${V[@]}"; do VARIANTS+=(--variant "$v"); done
$PY scripts/pseudo_target_eval.py --validation --baselines stage1,gff "${VARIANTS[@]}" \
    --out docs/results/refiner_target_selection
$PY -m sgdfuse_ros train refiner --out runs/teacher_t05 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 1 --no-progress --target activity_sigma=0.5
$PY -m sgdfuse_ros train refiner --out runs/teacher_lo --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 1 --no-progress --w-outside 0
for t in t05 lo; do
  $PY -m sgdfuse_ros train distill --teacher runs/teacher_$t/model.pt --out runs/student_$t --student-steps 1 \
      --teacher-steps 4 --seed 0 --threads 1 --no-progress
done
ZERO1=refiner.noise=zero:refiner.steps=1  # overrides (not a spec like Z above): x_T = 0, 1 evaluation
$PY -m sgdfuse_ros select --overwrite sgdfuse "sgdfuse:$ZERO1:refiner.weights=runs/student_t05/model.pt" \
    "sgdfuse:$ZERO1:refiner.weights=runs/student_lo/model.pt" --baselines stage1,gff \
    --out docs/results/refiner_target_student_selection

# 8. Tried, not shipped: 1-evaluation students of the 6000-step teacher (step 4) and of that teacher trained
#    6000 steps more, how much of the target's residual each network reproduces, and one run of the rule over
#    this round's candidates (the default stays).
$PY -m sgdfuse_ros train distill --teacher "$T3" --out runs/student_s3_1step --student-steps 1 --teacher-steps 4 \
    --seed 0 --threads 1 --no-progress
$PY -m sgdfuse_ros train refiner --out runs/teacher_s6 --init-from "$T3" --steps 6000 --batch 4 --crop 96 --lr 5e-4 \
    --seed 1 --val-every 3000 --threads 1 --no-progress
$PY -m sgdfuse_ros train distill --teacher runs/teacher_s6/model.pt --out runs/student_s6_1step --student-steps 1 \
    --teacher-steps 4 --seed 0 --threads 2 --no-progress
for spec in sgdfuse sgdfuse-teacher:refiner.steps=4 "sgdfuse-teacher:refiner.steps=4:refiner.weights=$T3" \
            "sgdfuse:$ZERO1:refiner.weights=runs/student_s3_1step/model.pt" \
            "sgdfuse:$ZERO1:refiner.weights=runs/student_s6_1step/model.pt"; do
  $PY scripts/residual_fit.py --pipeline "$spec"
done
ZERO2=refiner.noise=zero:refiner.steps=2
$PY -m sgdfuse_ros select --overwrite sgdfuse "sgdfuse:$ZERO1:refiner.weights=runs/student_t05/model.pt" \
    "sgdfuse:$ZERO1:refiner.weights=runs/student_lo/model.pt" \
    "sgdfuse:$ZERO1:refiner.weights=runs/student_s3_1step/model.pt" \
    "sgdfuse:$ZERO2:refiner.weights=runs/student_s3_w0/model.pt" \
    "sgdfuse:$ZERO2:refiner.weights=runs/student_s3_w1/model.pt" \
    "sgdfuse:$ZERO1:refiner.weights=runs/student_s6_1step/model.pt" --baselines stage1,gff \
    --out docs/results/refiner_fidelity_selection

# 9. Diagnostic (ships nothing): what a contrast stretch of the output trades (docs/refiner.md, "Why not
#    stretch the output").
$PY scripts/contrast_frontier.py --out docs/results/contrast_frontier

# 10. Issue 22, tried, not shipped (docs/refiner.md, "Bounded output and a base-layer tone map"): the shipped
#     student's weights with a bounded output (3) / a base-layer-only stretch (7) / both, scored by the rule
#     against stage 1 (run before the config groups landed, as sgdfuse:refiner_weights=...).
for v in "b3 --bound-radius 3" "t7 --base-radius 7" "b3t7 --bound-radius 3 --base-radius 7"; do
  set -- $v; PYTHONPATH=. $PY scripts/output_options.py sgdfuse_ros/weights/refiner_student.pt runs/student_$1.pt "${@:2}"
done
$PY -m sgdfuse_ros select --overwrite sgdfuse sgdfuse:refiner.weights=runs/student_b3.pt sgdfuse:refiner.weights=runs/student_t7.pt \
    sgdfuse:refiner.weights=runs/student_b3t7.pt --baselines stage1 --out runs/sel_refiner_output

# 11. Issue 22, second round (docs/refiner.md): on the new stage 1 (scripts/train_stage1.sh step 5), the rule
#     with the noise gate picks the shipped student with the base-layer tone map (step 10's student_t7, same
#     network weights), which is shipped as the default's refiner. Run BEFORE stage1.pt was replaced, hence
#     the explicit stage1.weights; no refiner was retrained.
S1=stage1.weights=runs/stage1_prior/model.pt
$PY -m sgdfuse_ros select --overwrite "sgdfuse:$S1" "sgdfuse:$S1:refiner.weights=runs/student_t7.pt" \
    "sgdfuse:$S1:refiner.weights=runs/student_b3t7.pt" --baselines "stage1:$S1" \
    --out runs/sel_refiner_prior1
mkdir -p docs/results/issue22_refiner_selection
cp runs/sel_refiner_prior1/selection.json docs/results/issue22_refiner_selection/
$PY -m sgdfuse_ros ship --overwrite runs/student_t7.pt sgdfuse_ros/weights/refiner_student.pt

# 12. Issue 22, third round (docs/refiner.md): teacher and 1-evaluation student retrained on the third-round
#     stage 1; one run of the rule against stage 1. Selected (13 of 18 wins vs the shipped student's 10) but
#     NOT shipped: its overshoot doubles on the video frames (OS med 1.43 vs 0.70) and the session had no time
#     left to score it on the evaluation sets and the detection check.
$PY -m sgdfuse_ros train refiner --out runs/teacher_r3 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 1 --resume --no-progress
$PY -m sgdfuse_ros train distill --teacher runs/teacher_r3/model.pt --out runs/student_r3 --student-steps 1 \
    --teacher-steps 4 --seed 0 --threads 2 --resume --no-progress
PYTHONPATH=. $PY scripts/output_options.py runs/student_r3/model.pt runs/student_r3_t7.pt --base-radius 7
$PY -m sgdfuse_ros select sgdfuse:runtime.backend=cpu sgdfuse:runtime.backend=cpu:refiner.weights=runs/student_r3_t7.pt \
    sgdfuse:runtime.backend=cpu:refiner.weights=runs/student_r3/model.pt --baselines stage1 \
    --out docs/results/issue22_third_selection/refiner_retrain

# 13. Issue 22, fourth round (docs/refiner.md). (a) Diagnosis on the validation set: the tone map alone
#     (--no-residual: the head's output zeroed, a diagnostic) and the raw-source bound (--source-bound-radius 3)
#     on the shipped student and on step 12's student, scored against stage 1 (run with --out runs/sel_diag, copied).
W=sgdfuse_ros/weights/refiner_student.pt
for v in "tone7 $W --base-radius 7 --no-residual" "tone0 $W --no-residual" \
         "t7_sb3 $W --base-radius 7 --source-bound-radius 3" \
         "tone7_sb3 $W --base-radius 7 --no-residual --source-bound-radius 3" \
         "r3_t7 runs/student_r3/model.pt --base-radius 7" \
         "r3_t7_sb3 runs/student_r3/model.pt --base-radius 7 --source-bound-radius 3"; do
  set -- $v; PYTHONPATH=. $PY scripts/output_options.py "$2" "runs/diag/$1.pt" "${@:3}"
done
C=sgdfuse:runtime.backend=cpu
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/diag/tone7.pt $C:refiner.weights=runs/diag/tone0.pt \
    $C:refiner.weights=runs/diag/t7_sb3.pt $C:refiner.weights=runs/diag/tone7_sb3.pt \
    $C:refiner.weights=runs/diag/r3_t7.pt $C:refiner.weights=runs/diag/r3_t7_sb3.pt --baselines stage1 \
    --out docs/results/issue22_fourth_selection/refiner_diagnosis
# (b) On the fourth-round stage 1 (the shipped stage1.pt, scripts/train_stage1.sh): teacher and 1-evaluation
#     student trained with the base-layer map the refiner runs with (--target base_radius=7: the pseudo-target
#     and the network's inputs as at inference; step 12 trained on the global stretch and ran base-only), then
#     one run of the rule against stage 1 with the shipped student, the tone map alone and the new student with
#     the raw-source bound.
$PY -m sgdfuse_ros train refiner --out runs/teacher_f7 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 2 --resume --no-progress --target base_radius=7
$PY -m sgdfuse_ros train distill --teacher runs/teacher_f7/model.pt --out runs/student_f7 --student-steps 1 \
    --teacher-steps 4 --seed 0 --threads 2 --resume --no-progress
PYTHONPATH=. $PY scripts/output_options.py runs/student_f7/model.pt runs/student_f7_sb3.pt --base-radius 7 \
    --source-bound-radius 3
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/diag/tone7.pt \
    $C:refiner.weights=runs/student_f7/model.pt $C:refiner.weights=runs/student_f7_sb3.pt --baselines stage1 \
    --out docs/results/issue22_fourth_selection/refiner
# (c) The sharpness-8 stage 1 of (b) was withdrawn (docs/stage1.md, fourth round); on the shipped stage 1 the same
#     recipe again, then one run of the rule against stage 1 over it, (b)'s student, the student shipped before
#     (git show 2da2ad8:sgdfuse_ros/weights/refiner_student.pt > runs/student_prev_t7.pt) and the tone map alone.
#     It selects the new student, which is shipped.
$PY -m sgdfuse_ros train refiner --out runs/teacher_f2 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 2 --resume --no-progress --target base_radius=7
$PY -m sgdfuse_ros train distill --teacher runs/teacher_f2/model.pt --out runs/student_f2 --student-steps 1 \
    --teacher-steps 4 --seed 0 --threads 2 --resume --no-progress
$PY -m sgdfuse_ros select --overwrite $C:refiner.weights=runs/student_f2/model.pt $C:refiner.weights=runs/student_f7/model.pt \
    $C:refiner.weights=runs/student_prev_t7.pt $C:refiner.weights=runs/diag/tone7.pt --baselines stage1 \
    --out docs/results/issue22_fourth_selection/refiner_final
$PY -m sgdfuse_ros ship --overwrite runs/student_f2/model.pt sgdfuse_ros/weights/refiner_student.pt

# 14. Issue 22, fifth round (docs/refiner.md): a noise-aware detail gain for the base-layer map
#     (stretch.detail_snr k: detail k noise sigmas above the image's grain gets the map's slope, grain keeps ~1).
#     (a) On the shipped student, inference only, k = 2, 3, 4 and k = 10, 20, 40: two runs of the rule against
#     stage 1 (copied to docs/results/issue22_fifth_selection/snr_low and snr_high).
W=sgdfuse_ros/weights/refiner_student.pt
for k in 2 3 4 10 20 40; do
  PYTHONPATH=. $PY scripts/output_options.py $W runs/diag/snr$k.pt --base-radius 7 --detail-snr $k
done
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/diag/snr2.pt $C:refiner.weights=runs/diag/snr3.pt \
    $C:refiner.weights=runs/diag/snr4.pt --baselines stage1 --out docs/results/issue22_fifth_selection/snr_low
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/diag/snr10.pt $C:refiner.weights=runs/diag/snr20.pt \
    $C:refiner.weights=runs/diag/snr40.pt --baselines stage1 --out docs/results/issue22_fifth_selection/snr_high
# (b) Teacher and 1-evaluation student trained with it (k = 20), then one run of the rule against stage 1.
$PY -m sgdfuse_ros train refiner --out runs/teacher_s20 --steps 2000 --batch 4 --crop 96 --lr 1e-3 --seed 0 \
    --val-every 1000 --threads 2 --resume --no-progress --target base_radius=7,detail_snr=20
$PY -m sgdfuse_ros train distill --teacher runs/teacher_s20/model.pt --out runs/student_s20 --student-steps 1 \
    --teacher-steps 4 --seed 0 --threads 2 --resume --no-progress
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/student_s20/model.pt \
    $C:refiner.weights=runs/diag/snr20.pt --baselines stage1 --out docs/results/issue22_fifth_selection/refiner
# (c) The slope inside the IR mask only (stretch.detail_mask_radius R: the offline IR mask grown by R, so the
#     thermal targets' outlines get the map's slope and the rest keeps gain 1), on the shipped student, inference
#     only; one run of the rule against stage 1.
for v in "mask3 --detail-mask-radius 3" "mask7 --detail-mask-radius 7" "mask7_snr20 --detail-mask-radius 7 --detail-snr 20"; do
  set -- $v; PYTHONPATH=. $PY scripts/output_options.py $W "runs/diag/$1.pt" --base-radius 7 "${@:2}"
done
$PY -m sgdfuse_ros select --overwrite $C $C:refiner.weights=runs/diag/mask3.pt $C:refiner.weights=runs/diag/mask7.pt \
    $C:refiner.weights=runs/diag/mask7_snr20.pt --baselines stage1 --out docs/results/issue22_fifth_selection/masked
