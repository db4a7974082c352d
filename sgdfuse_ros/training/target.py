"""The refiner's pseudo-target: the fused image that minimises the (L2 form of the) mask-guided losses.

There is no ground-truth fused image, so the clean sample x_0 of the diffusion is defined by the losses:

    F* = argmin_F  sum  lam * (F - T)^2  +  |grad F - G|^2

    T = m_ir * max(IR, I) + (1 - m_ir) * I   intensity anchor: the initial fusion I, never darker than
                                              the IR inside IR-salient regions (hot targets stay bright)
    G = (1 - k) (1 + mask_gain * max(m_ir, m_vis)) g_max + k grad I
                                              g_max: at each pixel the gradient vector of the source with
                                              the larger activity (|gx| + |gy| smoothed over ~2 px, so
                                              that isolated sensor noise does not win), amplified inside
                                              the masks; k (``initial_share``) keeps part of the initial
                                              fusion's own gradients (its learned texture gain)

The data term is weak (``lam`` << 1), so T fixes the low frequencies and G the details: gradient-domain
fusion (Perez et al. 2003 style). The refiner computes it on the contrast-normalised images
(``diffusion.contrast``), so the target is the normalised, display-range image. With Neumann borders the
normal equations (lam - Laplacian) F = lam T - div G are diagonal in the DCT-II basis, so F* costs two 2-D
DCTs (a few ms at 640x480).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import fft


def forward_gradient(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences (gx, gy), zero on the last column / row (Neumann border)."""
    gx = np.zeros_like(img)
    gy = np.zeros_like(img)
    gx[:, :-1] = img[:, 1:] - img[:, :-1]
    gy[:-1, :] = img[1:, :] - img[:-1, :]
    return gx, gy


def divergence(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Backward-difference divergence: the negative adjoint of ``forward_gradient``."""
    div = gx.copy()
    div[:, 1:] -= gx[:, :-1]
    div += gy
    div[1:, :] -= gy[:-1, :]
    return div


def screened_poisson(anchor: np.ndarray, gx: np.ndarray, gy: np.ndarray, lam: float) -> np.ndarray:
    """argmin_F lam |F - anchor|^2 + |grad F - (gx, gy)|^2 with Neumann borders, solved with the DCT."""
    h, w = anchor.shape
    rhs = lam * anchor.astype(np.float64) - divergence(gx.astype(np.float64), gy.astype(np.float64))
    eig_y, eig_x = (2 - 2 * np.cos(np.pi * np.arange(n) / n) for n in (h, w))
    eig = eig_y[:, None] + eig_x[None]
    coeffs = fft.dctn(rhs, type=2, norm="ortho") / (lam + eig)
    return fft.idctn(coeffs, type=2, norm="ortho").astype(np.float32)


def max_gradient_field(ir: np.ndarray, vis: np.ndarray, activity_sigma: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the forward-difference gradient of the source with the larger activity |gx| + |gy|
    (Gaussian-smoothed with ``activity_sigma`` px when > 0, so that isolated noise does not win)."""
    ir_gx, ir_gy = forward_gradient(ir)
    vis_gx, vis_gy = forward_gradient(vis)
    act_ir, act_vis = np.abs(ir_gx) + np.abs(ir_gy), np.abs(vis_gx) + np.abs(vis_gy)
    if activity_sigma > 0:
        act_ir, act_vis = (cv2.GaussianBlur(a, (0, 0), activity_sigma) for a in (act_ir, act_vis))
    take_ir = act_ir > act_vis
    return np.where(take_ir, ir_gx, vis_gx), np.where(take_ir, ir_gy, vis_gy)


def intensity_anchor(ir: np.ndarray, initial: np.ndarray, m_ir: np.ndarray) -> np.ndarray:
    return m_ir * np.maximum(ir, initial) + (1 - m_ir) * initial


def pseudo_target(ir: np.ndarray, vis: np.ndarray, initial: np.ndarray, m_ir: np.ndarray, m_vis: np.ndarray,
                  lam: float = 0.05, mask_gain: float = 0.0, activity_sigma: float = 2.0,
                  initial_share: float = 0.0) -> np.ndarray:
    """F* of the module docstring, clipped to [0, 1]; all inputs float32 HxW in [0, 1]."""
    gx, gy = max_gradient_field(ir, vis, activity_sigma)
    gain = (1 - initial_share) * (1 + mask_gain * np.maximum(m_ir, m_vis))
    ix, iy = forward_gradient(initial)
    gx, gy = gain * gx + initial_share * ix, gain * gy + initial_share * iy
    out = screened_poisson(intensity_anchor(ir, initial, m_ir), gx, gy, lam)
    return np.clip(out, 0.0, 1.0)
