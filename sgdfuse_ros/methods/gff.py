"""Guided Filtering based Fusion (GFF): S. Li, X. Kang, J. Hu, "Image Fusion with Guided Filtering",
IEEE TIP 22(7), 2013, with the paper's default parameters.

    two scales:  B = I * Z (31x31 average), D = I - B
    saliency:    S = |Laplacian(I)| * Gaussian(r_g=5, sigma_g=5)
    weights:     P = 1 where S is the largest saliency (ties: all tied images), else 0
                 W_B = GF(I, P; r1=45, eps1=0.3), W_D = GF(I, P; r2=7, eps2=1e-6), normalised over images
    fused:       F = sum(W_B * B) + sum(W_D * D)

The guided filter (K. He, J. Sun, X. Tang, ECCV 2010) is the O(1) box-filter form with mirrored borders
(He's code shrinks the window at the borders instead). As in the GFF reference code the refined weights
are clipped to [0, 1] before normalisation, and the filters of the first two steps replicate the border.
Intensities are in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError

_REPLICATE = cv2.BORDER_REPLICATE


def _box_mean(img: np.ndarray, radius: int, dst: np.ndarray | None = None) -> np.ndarray:
    """Mean over the (2r+1)^2 window, mirrored at the borders; O(1) per pixel (float sums inside OpenCV)."""
    size = 2 * radius + 1
    return cv2.boxFilter(img, -1, (size, size), dst=dst, borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` guided by ``guide`` (both HxW float); returns float32 HxW.

    Written in place on a few buffers: large temporaries cost page faults that outweigh the arithmetic.
    """
    if radius < 1 or eps <= 0:
        raise ConfigError(f"guided filter needs radius >= 1 and eps > 0 (got {radius}, {eps})")
    # centring the guide keeps var = E[I^2] - E[I]^2 accurate in float32 for eps down to 1e-6
    guide = guide.astype(np.float32) - np.float32(guide.mean())
    src = src.astype(np.float32, copy=False)
    mean_i, mean_p = _box_mean(guide, radius), _box_mean(src, radius)
    tmp = np.multiply(guide, guide)
    var_i = _box_mean(tmp, radius)
    np.multiply(guide, src, out=tmp)
    cov_ip = _box_mean(tmp, radius)
    cov_ip -= np.multiply(mean_i, mean_p, out=tmp)
    var_i -= np.multiply(mean_i, mean_i, out=tmp)
    var_i += np.float32(eps)
    a = np.divide(cov_ip, var_i, out=cov_ip)
    b = np.subtract(mean_p, np.multiply(a, mean_i, out=tmp), out=mean_p)
    mean_a, mean_b = _box_mean(a, radius, dst=var_i), _box_mean(b, radius, dst=mean_i)
    np.multiply(mean_a, guide, out=tmp)
    return np.add(tmp, mean_b, out=tmp)


def saliency(img: np.ndarray, radius: int = 5, sigma: float = 5.0) -> np.ndarray:
    """Gaussian-smoothed absolute 3x3 Laplacian: the paper's local contrast measure."""
    lap = np.abs(cv2.Laplacian(img, cv2.CV_32F, ksize=1, borderType=_REPLICATE))
    size = 2 * radius + 1
    return cv2.GaussianBlur(lap, (size, size), sigma, borderType=_REPLICATE)


def _refined_weights(
    images: tuple[np.ndarray, np.ndarray], masks: tuple[np.ndarray, np.ndarray], radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Guided-filter each binary map with its own image as guide; clip to [0, 1], normalise to sum 1."""
    w_ir, w_vis = (guided_filter(img, p, radius, eps) for img, p in zip(images, masks, strict=True))
    for w in (w_ir, w_vis):
        np.clip(w, 0.0, 1.0, out=w)
        w += np.float32(1e-12)
    total = w_ir + w_vis
    w_ir /= total
    w_vis /= total
    return w_ir, w_vis


def gff(
    ir: np.ndarray,
    vis: np.ndarray,
    *,
    base_size: int = 31,
    saliency_radius: int = 5,
    saliency_sigma: float = 5.0,
    r1: int = 45,
    eps1: float = 0.3,
    r2: int = 7,
    eps2: float = 1e-6,
) -> np.ndarray:
    """Fuse two luma images (float32 HxW in [0, 1]) with GFF; returns float32 HxW in [0, 1]."""
    if base_size < 3 or base_size % 2 == 0 or saliency_radius < 1 or saliency_sigma <= 0:
        raise ConfigError("gff: base_size must be odd >= 3, saliency_radius >= 1 and saliency_sigma > 0")
    images = (ir, vis)
    sal_ir, sal_vis = (saliency(img, saliency_radius, saliency_sigma) for img in images)
    masks = ((sal_ir >= sal_vis).astype(np.float32), (sal_vis >= sal_ir).astype(np.float32))  # ties: both
    weights_base = _refined_weights(images, masks, r1, eps1)
    weights_detail = _refined_weights(images, masks, r2, eps2)
    fused = np.zeros(ir.shape, np.float32)
    for img, w_b, w_d in zip(images, weights_base, weights_detail, strict=True):
        base = cv2.blur(img, (base_size, base_size), borderType=_REPLICATE)
        fused += np.multiply(w_b, base, out=w_b)
        fused += np.multiply(w_d, np.subtract(img, base, out=base), out=w_d)  # weighted detail layer
    return np.clip(fused, 0.0, 1.0, out=fused)
