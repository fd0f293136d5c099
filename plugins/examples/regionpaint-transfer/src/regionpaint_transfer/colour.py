"""Colour statistics of a region and the linear map that gives one region another's (mean, covariance).

The map is the Monge-Kantorovich solution between two Gaussians (Pitié & Kokaram 2007): it moves the
pixels' mean and covariance exactly onto the target's while changing the colours as little as possible.
"""

from __future__ import annotations

import numpy as np

MAX_SAMPLES = 20_000  # pixels used for a region's statistics (sampled when more)
EPS = 1e-4


def statistics(pixels: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean (3,), covariance (3, 3)) of ``pixels`` (N, 3) float."""
    if len(pixels) > MAX_SAMPLES:
        picker = rng if rng is not None else np.random.default_rng(0)
        pixels = pixels[picker.choice(len(pixels), MAX_SAMPLES, replace=False)]
    pixels = pixels.astype(np.float64)
    mean = pixels.mean(0)
    cov = np.cov(pixels, rowvar=False) if len(pixels) > 1 else np.zeros((3, 3))
    return mean, np.atleast_2d(cov)


def mix_statistics(stats: list[tuple[float, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a weighted mix ``[(weight, mean, cov), ...]`` (weights sum to 1)."""
    mean = sum(w * m for w, m, _ in stats)
    cov = sum(w * c for w, _, c in stats)
    return mean, cov


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def transfer(pixels: np.ndarray, target_mean: np.ndarray, target_cov: np.ndarray) -> np.ndarray:
    """``pixels`` (N, 3) moved onto the target statistics (a linear map; float32 out)."""
    mean, cov = statistics(pixels)
    cov = cov + EPS * np.eye(3)
    root = _sqrtm(cov)
    inverse_root = np.linalg.inv(root)
    mapping = inverse_root @ _sqrtm(root @ (target_cov + EPS * np.eye(3)) @ root) @ inverse_root
    return ((pixels - mean) @ mapping.T + target_mean).astype(np.float32)
