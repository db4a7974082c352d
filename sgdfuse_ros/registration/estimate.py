"""Thermal -> RGB registration from image pairs: edge-map correlation, coarse to fine (no ROS imports).

Thermal and visible intensities are unrelated, but their edges coincide when the cameras are registered, so
both images become gradient-magnitude maps (``score.edge_map``; locally normalised, so that the faint edges
of a thermal image weigh as much as the strong texture of a visible one) on a working grid: the visible
image's, longer side ``WORK_SIDE``, the IR image first put on it by the initial guess (a resize, or the
previous homography).

1. Coarse (a quarter of the working grid): a global search over rotations x scales x shifts, each scored
   by the normalised cross-correlation of the two maps (``cv2.matchTemplate``); the best few distinct
   candidates go on.
2. Fine (half, then the whole working grid): OpenCV's ECC (enhanced correlation coefficient, Gauss-Newton)
   refines a homography from each candidate on the two maps, the IR map masked to where the warped IR image
   has content (at half, then full working resolution); the highest final correlation wins, and it must reach
   ``MIN_CORRELATION`` with an alignment score (``score.alignment_score``) of at least ``MIN_SCORE``. Its
   margin is how far its correlation beats the best refined candidate ending more than ``AGREE_PX`` away.

``calibrate`` registers every pair alone and keeps the consensus (pairs whose warped corners agree; a single
registered pair must be unambiguous, its margin at least ``MIN_MARGIN``, as nothing else corroborates it); the
result is the mean of their corners. When the registered pairs do not agree (single sparse scenes can leave a
homography's corners loose), ``estimate_joint`` estimates one warp from their edge maps averaged together and
keeps the pairs it aligns (a majority is needed still). ``model`` is fitted to the result (an affine or
similarity is that model closest to the homography), which is checked (``geometry.check_homography``, with
``MIN_OVERLAP``) and scored before and after.
A homography here maps an IR pixel (x, y, 1) to a visible pixel, the convention of ``PipelineConfig.homography``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..errors import ConfigError, InputError
from ..geometry import check_homography, warped_coverage
from .score import alignment_score, edge_map, ir_to_grid, scale_homography

MODELS = ("homography", "affine", "similarity")
WORK_SIDE = 640  # longer side of the working grid
MIN_EDGE_FRACTION = 0.01  # "little structure": fewer pixels than this with a clear edge (either image)
MIN_CORRELATION = 0.15  # a pair whose edge maps correlate less than this after registration is not registered
MIN_SCORE = 0.1  # nor is one whose alignment score (score.py) at the estimate stays below this
MIN_OVERLAP = 0.5  # fraction of the visible grid the warped IR image must cover
MIN_MARGIN = 0.05  # a lone pair's correlation must beat any distinct candidate's by this (chosen on train pairs)
AGREE_PX = 6.0  # pairs agree when their corners lie within this many working pixels of the median
ANGLES = (-6.0, -3.0, 0.0, 3.0, 6.0)  # degrees: rotations tried by the coarse search
SCALES = (0.88, 0.94, 1.0, 1.06, 1.12)  # scales tried by the coarse search
SEARCH_FRACTION = 0.08  # the coarse search tries shifts up to this fraction of the image side
COARSE_CANDIDATES = 3  # the best coarse results refined by ECC; the highest final correlation wins
ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)


class RegistrationError(InputError):
    """The pairs cannot be registered (little structure, little overlap, pairs that disagree)."""


@dataclass
class PairEstimate:
    homography: np.ndarray | None  # IR -> VIS (native pixels), None when the pair failed
    correlation: float = 0.0  # edge-map correlation at the estimate (working grid)
    reason: str = ""  # why the pair was not used
    score: float = 0.0  # alignment score at the estimate
    margin: float = 1.0  # correlation lead over the best refined candidate elsewhere (1: none elsewhere)


@dataclass
class Calibration:
    homography: np.ndarray  # 3x3, IR pixel -> VIS pixel
    model: str
    pairs_used: int
    pairs_total: int
    residual_px: float  # RMS distance of the agreeing pairs' own warped corners from the result's (VIS pixels)
    score_before: float  # mean alignment score of the pairs with the previous homography (or a plain resize)
    score_after: float
    overlap: float  # fraction of the visible grid the warped IR covers
    per_pair: list[PairEstimate] = field(default_factory=list)
    joint: bool = False  # the warp is the registered pairs' joint estimate (they did not agree alone)

    def summary(self) -> str:
        return (f"{self.model} from {self.pairs_used}/{self.pairs_total} pairs: residual {self.residual_px:.2f} px, "
                f"alignment score {self.score_before:.3f} -> {self.score_after:.3f}, overlap {self.overlap:.0%}")


@dataclass
class _Maps:
    """One pair on the working grid: the visible and (initially warped) IR edge maps, and what maps back."""

    vis: np.ndarray
    ir: np.ndarray
    to_native: np.ndarray  # working IR grid -> native IR pixels is inv(to_work @ base); kept as to_work @ base
    to_work: np.ndarray  # native VIS -> working VIS


def _gray(img: np.ndarray) -> np.ndarray:
    """Any 8/16-bit or float image -> float32 gray in [0, 1] (16-bit: stretched by its 1st..99th percentile)."""
    from ..images import _single_channel, to_unit_float

    return to_unit_float(np.ascontiguousarray(_single_channel(img)))


def _features(gray: np.ndarray) -> np.ndarray:
    """Locally normalised gradient magnitude in [0, 1]."""
    e = edge_map(gray, 1.0)
    e = e / (cv2.GaussianBlur(e, (0, 0), 16) + 0.1 * float(e.mean()) + 1e-6)
    top = float(np.percentile(e, 99))
    return np.clip(e / top, 0.0, 1.0).astype(np.float32) if top > 0 else e


def _prepare(ir: np.ndarray, vis: np.ndarray, initial: np.ndarray | None) -> _Maps | str:
    ir_g, vis_g = _gray(ir), _gray(vis)
    work = WORK_SIDE / max(vis_g.shape)
    shape = (round(vis_g.shape[0] * work), round(vis_g.shape[1] * work))
    to_work = scale_homography(vis_g.shape, shape)
    base = scale_homography(ir_g.shape, vis_g.shape) if initial is None else np.asarray(initial, np.float64)
    # the IR image's own black margins (a warped or cropped image) are no scene edges: leave them and their
    # border out, like the area outside the warped image
    support = cv2.erode((ir_g > 0).astype(np.uint8), np.ones((15, 15), np.uint8), borderType=cv2.BORDER_REPLICATE)
    ir_work, valid = ir_to_grid(ir_g, shape, to_work @ base)
    valid &= ir_to_grid(support.astype(np.float32), shape, to_work @ base)[0] > 0.99
    valid = cv2.erode(valid.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    vis_work = cv2.resize(vis_g, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    f_ir, f_vis = _features(ir_work), _features(vis_work)
    if not valid.any() or min(float((f_ir[valid] > 0.25).mean()), float((f_vis > 0.25).mean())) < MIN_EDGE_FRACTION:
        return "too little structure (almost no edges)"
    return _Maps(f_vis, np.where(valid, f_ir, -1.0).astype(np.float32), to_work @ base, to_work)


def _start(angle_deg: float, scale: float, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, scale)
    return np.vstack([m, [0.0, 0.0, 1.0]])


def _coarse_search(f_vis: np.ndarray, f_ir: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Rotation x scale x shift candidates by the normalised cross-correlation of the maps, best first.

    For every (angle, scale) the IR map is rotated and scaled about its centre, its central part slid over the
    visible map, and the best shift kept. Returns ``COARSE_CANDIDATES`` (correlation, homography IR map -> VIS
    map) whose corners differ (repetitive structure can make a wrong shift score nearly as well).
    """
    h, w = f_vis.shape
    m = max(2, round(SEARCH_FRACTION * max(h, w)))
    found = []
    ir = np.maximum(f_ir, 0.0)
    for angle in ANGLES:
        for scale in SCALES:
            a = _start(angle, scale, (h, w))  # IR -> VIS rotation and scale about the centre
            g = cv2.warpPerspective(ir, a, (w, h), flags=cv2.INTER_LINEAR)
            response = cv2.matchTemplate(f_vis, g[m:h - m, m:w - m], cv2.TM_CCOEFF_NORMED)
            _, value, _, (u, v) = cv2.minMaxLoc(response)
            shift = np.array([[1.0, 0.0, u - m], [0.0, 1.0, v - m], [0.0, 0.0, 1.0]])
            found.append((float(value), shift @ a))
    found.sort(key=lambda item: -item[0])
    src, kept = corners((h, w)), []
    for value, hom in found:
        if all(np.abs(project(hom, src) - project(k, src)).max() > 2.0 for _, k in kept):
            kept.append((value, hom))
        if len(kept) == COARSE_CANDIDATES:
            break
    return kept


def _level(maps: _Maps, factor: float) -> tuple[np.ndarray, np.ndarray]:
    if factor == 1.0:
        return maps.vis, maps.ir
    size = (round(maps.vis.shape[1] * factor), round(maps.vis.shape[0] * factor))
    return (cv2.resize(maps.vis, size, interpolation=cv2.INTER_AREA),
            cv2.resize(maps.ir, size, interpolation=cv2.INTER_AREA))


def _ecc(maps: _Maps, h: np.ndarray, levels: tuple[float, ...]) -> tuple[float, np.ndarray]:
    """ECC (Gauss-Newton on the correlation coefficient) from ``h`` at each resolution factor of ``levels``.

    Returns (correlation, homography working IR grid -> working VIS grid); correlation -1 when it diverges.
    """
    cc = -1.0
    for factor in levels:
        vis, ir = _level(maps, factor)
        s = np.diag([factor, factor, 1.0])
        w = np.linalg.inv(s @ h @ np.linalg.inv(s))  # ECC's warp maps the template (VIS) onto the input (IR)
        try:
            cc, w = cv2.findTransformECC(vis, np.maximum(ir, 0.0), (w / w[2, 2]).astype(np.float32),
                                         cv2.MOTION_HOMOGRAPHY, ECC_CRITERIA, (ir >= 0).astype(np.uint8), 1)
        except cv2.error:
            return -1.0, h
        h = np.linalg.inv(s) @ np.linalg.inv(w.astype(np.float64)) @ s
    return float(cc), h


def _native(maps: _Maps, h_work: np.ndarray) -> np.ndarray:
    h = np.linalg.inv(maps.to_work) @ h_work @ maps.to_native
    return h / h[2, 2]


def estimate_pair(ir: np.ndarray, vis: np.ndarray, initial: np.ndarray | None = None) -> PairEstimate:
    """IR -> VIS homography of one pair (any dtype/channels), starting from ``initial`` (default: a resize)."""
    return estimate_joint([(ir, vis)], initial)


def _composite(prepared: list[_Maps]) -> _Maps:
    """The pairs' edge maps averaged into one pair (valid where every IR map is)."""
    if len(prepared) == 1:
        return prepared[0]
    valid = np.logical_and.reduce([m.ir >= 0 for m in prepared])
    vis = np.mean([m.vis for m in prepared], axis=0)
    ir = np.where(valid, np.mean([np.maximum(m.ir, 0.0) for m in prepared], axis=0), -1.0)
    return _Maps(vis.astype(np.float32), ir.astype(np.float32), prepared[0].to_native, prepared[0].to_work)


def estimate_joint(pairs: list[tuple[np.ndarray, np.ndarray]], initial: np.ndarray | None = None) -> PairEstimate:
    """One IR -> VIS homography for pairs of one camera pair (same sizes), from their edge maps together.

    The pairs share the warp, so their edge maps are averaged into one composite pair: the scenes' edges add up,
    and edges all over the image pin down a homography that one sparse scene leaves loose (its perspective).
    The alignment score is the pairs' mean at the estimate.
    """
    prepared = [_prepare(ir, vis, initial) for ir, vis in pairs]
    failed = [m for m in prepared if isinstance(m, str)]
    if failed:
        return PairEstimate(None, reason=failed[0])
    maps = _composite(prepared)
    s = np.diag([4.0, 4.0, 1.0])
    fits = [_ecc(maps, s @ h @ np.linalg.inv(s), (0.5, 1.0)) for _, h in _coarse_search(*_level(maps, 0.25))]
    corr, h = max(fits, key=lambda fit: fit[0])
    native = _native(maps, h)
    src = corners(maps.vis.shape)
    rivals = [c for c, other in fits if np.linalg.norm(project(other, src) - project(h, src), axis=1).max() > AGREE_PX]
    margin = corr - max(rivals) if rivals else 1.0
    if corr < MIN_CORRELATION:
        return PairEstimate(native, corr, f"edges do not match (correlation {corr:.2f} < {MIN_CORRELATION})",
                            margin=margin)
    score = float(np.mean([pair_score(_gray(ir), _gray(vis), native) for ir, vis in pairs]))
    if score < MIN_SCORE:
        return PairEstimate(native, corr, f"edges do not match (alignment score {score:.2f} < {MIN_SCORE})",
                            score, margin)
    return PairEstimate(native, corr, "", score, margin)


def pair_score(ir: np.ndarray, vis: np.ndarray, homography: np.ndarray | None) -> float:
    """Alignment score of an IR/VIS pair (float gray) with an IR -> VIS homography (None: a plain resize)."""
    warped, valid = ir_to_grid(ir, vis.shape[:2], homography)
    return alignment_score(warped, vis, valid)


def corners(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)


def project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.c_[points, np.ones(len(points))] @ np.asarray(homography, np.float64).T
    return p[:, :2] / p[:, 2:3]


def fit_model(h: np.ndarray, shape: tuple[int, int], model: str) -> np.ndarray:
    """The ``model`` warp closest (least squares on a grid of IR points) to the homography ``h``."""
    if model == "homography":
        return h
    ys, xs = np.mgrid[0:shape[0]:9j, 0:shape[1]:9j]
    src = np.c_[xs.ravel(), ys.ravel()].astype(np.float32)
    dst = project(h, src).astype(np.float32)
    fit = cv2.estimateAffine2D if model == "affine" else cv2.estimateAffinePartial2D
    m, _ = fit(src, dst, method=cv2.LMEDS)
    return np.vstack([m, [0.0, 0.0, 1.0]])


def check_warp(homography: np.ndarray, ir_shape: tuple[int, int], vis_shape: tuple[int, int]) -> None:
    """The project's one homography check (``geometry.check_homography``: finite, well-conditioned, the thermal
    image in front of the camera and not folded) with calibration's overlap, ``MIN_OVERLAP``; raises
    ``RegistrationError``."""
    try:
        check_homography(homography, ir_shape[::-1], vis_shape[::-1], min_coverage=MIN_OVERLAP)
    except ConfigError as e:
        raise RegistrationError(f"too little overlap or an implausible warp: {e}") from None


def calibrate(pairs: list[tuple[np.ndarray, np.ndarray]], model: str = "homography",
              previous: np.ndarray | None = None, min_pairs: int = 1,
              estimates: list[PairEstimate] | None = None) -> Calibration:
    """One IR -> VIS warp for a fixed camera pair from several image pairs; ``RegistrationError`` if impossible.

    Every pair is registered alone (from ``previous``, default a plain resize); the estimates whose corners
    lie within ``AGREE_PX`` (working pixels) of the median form the consensus, which must hold a majority of
    the registered pairs and at least ``min_pairs``; the warp is their mean corners. Without such a consensus,
    the warp is ``estimate_joint`` of the registered pairs, and the pairs it aligns (alignment score at least
    ``MIN_SCORE``) must form that majority. ``model`` is fitted to the result. ``estimates``: the pairs' own
    ``estimate_pair`` results from ``previous`` when already known (they are copied, not changed).
    """
    if model not in MODELS:
        raise InputError(f"registration model must be one of {', '.join(MODELS)}, got {model!r}")
    if not pairs:
        raise RegistrationError("no image pairs to register")
    ir_shape, vis_shape = pairs[0][0].shape[:2], pairs[0][1].shape[:2]
    if any(ir.shape[:2] != ir_shape or vis.shape[:2] != vis_shape for ir, vis in pairs):
        raise RegistrationError("the pairs differ in size (one camera pair at a time)")
    estimates = ([replace(e) for e in estimates] if estimates is not None
                 else [estimate_pair(ir, vis, previous) for ir, vis in pairs])
    good = [k for k, e in enumerate(estimates) if not e.reason]
    reasons = "; ".join(sorted({e.reason for e in estimates if e.reason}))
    if not good:
        raise RegistrationError(f"no pair could be registered ({reasons})")
    if len(good) < min_pairs:
        raise RegistrationError(f"only {len(good)} of {len(pairs)} pairs could be registered, {min_pairs} needed "
                                f"({reasons})")
    src = corners(ir_shape)
    warped = np.stack([project(estimates[k].homography, src) for k in good])  # (pairs, 4, 2) VIS pixels
    px = WORK_SIDE / max(vis_shape)  # VIS pixels -> working pixels
    dist = np.linalg.norm(warped - np.median(warped, axis=0), axis=2).max(axis=1) * px
    agree = dist <= AGREE_PX
    needed = max(min_pairs, len(good) // 2 + 1)
    if agree.sum() < needed:
        # single sparse scenes can leave a homography loose (they disagree at the corners): estimate it from all
        # the registered pairs together, and keep the pairs it aligns (alignment score at least MIN_SCORE)
        joint = estimate_joint([pairs[k] for k in good], previous)
        fit = np.array([not joint.reason and pair_score(*map(_gray, pairs[k]), joint.homography) >= MIN_SCORE
                        for k in good])
        if fit.sum() < needed:
            raise RegistrationError(f"the pairs disagree: {int(agree.sum())} of {len(good)} registered pairs agree "
                                    f"within {AGREE_PX:g} px (need {needed}; corner spread up to {dist.max():.0f} "
                                    f"px), and their joint estimate aligns {int(fit.sum())} "
                                    f"({joint.reason or 'alignment score below ' + str(MIN_SCORE)})")
        for k, ok in zip(good, fit, strict=True):
            if not ok:
                estimates[k].reason = "not aligned by the pairs' joint estimate"
        h = fit_model(joint.homography, ir_shape, model)
        residual = float(np.sqrt((np.linalg.norm(warped[fit] - project(h, src), axis=2) ** 2).mean()))
        cal = finish(h, model, pairs, previous, int(fit.sum()), residual, estimates)
        cal.joint = True
        return cal
    for k, ok in zip(good, agree, strict=True):
        if not ok:
            estimates[k].reason = "disagrees with the other pairs"
    if len(good) == 1 and estimates[good[0]].margin < MIN_MARGIN:  # nothing corroborates an ambiguous lone pair
        raise RegistrationError(f"ambiguous: another warp fits the edges nearly as well (correlation margin "
                                f"{estimates[good[0]].margin:.3f} < {MIN_MARGIN}); give more pairs")
    used = int(agree.sum())
    mean_corners = warped[agree].mean(axis=0)
    h = fit_model(cv2.getPerspectiveTransform(src.astype(np.float32), mean_corners.astype(np.float32)), ir_shape,
                  model)
    residual = float(np.sqrt((np.linalg.norm(warped[agree] - project(h, src), axis=2) ** 2).mean()))
    return finish(h, model, pairs, previous, used, residual, estimates)


def finish(h: np.ndarray, model: str, pairs: list[tuple[np.ndarray, np.ndarray]], previous: np.ndarray | None,
           used: int, residual: float, estimates: list[PairEstimate]) -> Calibration:
    """The checked ``Calibration`` of the warp ``h``, with the pairs' alignment scores before and after."""
    ir_shape, vis_shape = pairs[0][0].shape[:2], pairs[0][1].shape[:2]
    check_warp(h, ir_shape, vis_shape)
    grays = [(_gray(ir), _gray(vis)) for ir, vis in pairs]
    before = float(np.mean([pair_score(ir, vis, previous) for ir, vis in grays]))
    after = float(np.mean([pair_score(ir, vis, h) for ir, vis in grays]))
    return Calibration(h, model, used, len(pairs), residual, before, after,
                       warped_coverage(h, ir_shape[::-1], vis_shape[::-1]), estimates)
