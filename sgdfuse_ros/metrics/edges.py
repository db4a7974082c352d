"""Gradient-based metrics: Qabf (Xydeas & Petrovic, "edit by Richang Hong") and Nabf (Shreyamsha Kumar)."""

from __future__ import annotations

import cv2
import numpy as np

from sgdfuse_ros.metrics._common import as_f64

_HALF_PI = np.pi / 2


def _sobel_sums(img: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    """(right - left, down - up) Sobel sums ([1 2 1] smoothing, no 1/8), exact for integer data."""
    x = as_f64(img)
    return (cv2.Sobel(x, cv2.CV_64F, 1, 0, ksize=3, borderType=border),
            cv2.Sobel(x, cv2.CV_64F, 0, 1, ksize=3, borderType=border))


def _qabf_edges(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strength and angle from conv2(., h3/h1, 'same'): zero padding, a true convolution."""
    dx, dy = _sobel_sums(img, cv2.BORDER_CONSTANT)  # zero padding
    sx = -dx  # conv2 with h3 = [-1 0 1; -2 0 2; -1 0 1] is left minus right
    sy = dy  # conv2 with h1 = [1 2 1; 0 0 0; -1 -2 -1] is down minus up
    g = np.sqrt(sx * sx + sy * sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(sx == 0, _HALF_PI, np.arctan(sy / sx))
    return g, a


def _qabf_edge_preservation(g_src: np.ndarray, a_src: np.ndarray, g_f: np.ndarray,
                            a_f: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g_src > g_f, g_f / g_src, g_src / g_f)
    ratio = np.where(g_src == g_f, g_f, ratio)  # reference quirk: equal strengths give g_F, not 1
    ang = 1.0 - np.abs(a_src - a_f) / _HALF_PI
    qg = 0.9994 / (1.0 + np.exp(-15.0 * (ratio - 0.5)))
    qa = 0.9879 / (1.0 + np.exp(-22.0 * (ang - 0.8)))
    return qg * qa  # a product, no sqrt


def qabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Qabf: Petrovic edge preservation, weights g (L=1), no threshold; quirk: G_AF = g_F where g_A == g_F."""
    g_a, a_a = _qabf_edges(ir)
    g_b, a_b = _qabf_edges(vis)
    g_f, a_f = _qabf_edges(fused)
    q_af = _qabf_edge_preservation(g_a, a_a, g_f, a_f)
    q_bf = _qabf_edge_preservation(g_b, a_b, g_f, a_f)
    return float(np.sum(q_af * g_a + q_bf * g_b) / np.sum(g_a + g_b))


def _nabf_edges(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strength and angle of ``sobel_fn``: correlation with the Sobel kernels / 8 on a reflect-101 padding."""
    dx, dy = _sobel_sums(img, cv2.BORDER_REFLECT_101)  # numpy "reflect"
    gv = dx / 8.0
    gh = dy / 8.0
    g = np.sqrt(gh * gh + gv * gv)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where((gv == 0) & (gh == 0), 0.0, np.arctan(gv / gh))
    return g, a


def _nabf_edge_preservation(g_src: np.ndarray, a_src: np.ndarray, g_f: np.ndarray,
                            a_f: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g_src > g_f, g_f / g_src, g_src / g_f)
    ratio = np.where((g_src == 0) | (g_f == 0), 0.0, ratio)
    ang = np.abs(np.abs(a_src - a_f) - _HALF_PI) * 2 / np.pi
    qg = 0.9999 / (1.0 + np.exp(-19.0 * (ratio - 0.5)))
    qa = 0.9995 / (1.0 + np.exp(-22.0 * (ang - 0.5)))
    return np.sqrt(qg * qa)


def nabf_raw(fused: np.ndarray, src1: np.ndarray, src2: np.ndarray) -> float:
    """``analysis_nabf(fused, src1, src2)``: modified fusion artifacts (the function's intended meaning)."""
    g_f, a_f = _nabf_edges(fused)
    g_a, a_a = _nabf_edges(src1)
    g_b, a_b = _nabf_edges(src2)
    q_af = _nabf_edge_preservation(g_a, a_a, g_f, a_f)
    q_bf = _nabf_edge_preservation(g_b, a_b, g_f, a_f)
    w_a = np.where(g_a >= 2.0, g_a ** 1.5, 0.001)
    w_b = np.where(g_b >= 2.0, g_b ** 1.5, 0.001)
    artifacts = (g_f > g_a) & (g_f > g_b)
    num = np.sum(np.where(artifacts, (1.0 - q_af) * w_a + (1.0 - q_bf) * w_b, 0.0))
    return float(num / np.sum(w_a + w_b))


def nabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, reference_order: bool = True) -> float:
    """Nabf; quirk (reference bug, default): called as analysis_nabf(IR, VIS, F): IR plays the fused role."""
    if reference_order:
        return nabf_raw(ir, vis, fused)
    return nabf_raw(fused, ir, vis)
