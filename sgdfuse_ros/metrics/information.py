"""Information-theoretic metrics on uint8 images: EN (entropy) and MI (mutual information), log2."""

from __future__ import annotations

import numpy as np

from sgdfuse_ros.metrics._common import check_u8_gray


def _entropy_of_counts(counts: np.ndarray, total: int) -> float:
    p = counts[counts > 0] / total
    return float(-np.sum(p * np.log2(p))) + 0.0  # + 0.0: no -0.0 for a single bin


def entropy(fused: np.ndarray) -> float:
    """EN: MATLAB ``entropy`` of a uint8 image (256-bin histogram, empty bins dropped, bits)."""
    f = check_u8_gray(fused, "fused")
    return _entropy_of_counts(np.bincount(f.ravel(), minlength=256), f.size)


def _joint_entropy(f: np.ndarray, x: np.ndarray, merge_254_255: bool) -> float:
    if merge_254_255:  # reference indexes with uint8(value + 1), which saturates: 254 and 255 share a bin
        f = np.minimum(f, 254)
        x = np.minimum(x, 254)
    idx = f.ravel().astype(np.intp) * 256 + x.ravel()
    return _entropy_of_counts(np.bincount(idx, minlength=256 * 256), f.size)


def mutual_information_pair(fused: np.ndarray, src: np.ndarray, merge_254_255: bool = True) -> float:
    """MI(X, F) = H(X) + H(F) - H(F, X); the 254/255 merge applies to the joint histogram only."""
    f = check_u8_gray(fused, "fused")
    x = check_u8_gray(src, "source")
    if f.shape != x.shape:
        raise ValueError(f"mutual_information: shapes differ, {f.shape} vs {x.shape}")
    return entropy(x) + entropy(f) - _joint_entropy(f, x, merge_254_255)


def mutual_information(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray,
                       merge_254_255: bool = True) -> float:
    """MI: MI(IR, F) + MI(VIS, F), a sum; quirk: gray levels 254/255 merged in the joint histogram."""
    return (mutual_information_pair(fused, ir, merge_254_255)
            + mutual_information_pair(fused, vis, merge_254_255))
