"""The exact integer forward pass: the only network the decoder runs.

Integer weights (scale 2**WEIGHT_BITS), fixed-point activations (scale
2**ACT_BITS), floor shifts for rescaling, table lookups for sine and for the
logit -> probability map. Products are accumulated in float64 holding exact
integers: the limits below keep every partial sum under 2**53, so the result
is the same whatever order BLAS sums in, on any machine and thread count.
"""
from __future__ import annotations

import numpy as np

from .errors import FormatError
from .network import MAX_WIDTH, NetConfig
from .tables import (ACT_BITS, ACT_ONE, LOGIT_RANGE, LOGIT_SHIFT, PROB_BITS,
                     WEIGHT_BITS, sigmoid_table, sin_table)

WEIGHT_LIMIT = 1 << (WEIGHT_BITS + 6)     # |w| < 64 in real units
ACT_LIMIT = 1 << (ACT_BITS + 8)          # ReLU activations clipped to |a| <= 256
# worst partial sum: ACT_LIMIT * WEIGHT_LIMIT * MAX_WIDTH (+ bias) < 2**53
assert ACT_LIMIT * WEIGHT_LIMIT * (MAX_WIDTH + 1) < 2 ** 53


def check_weights(cfg: NetConfig, weights: list) -> None:
    if cfg.in_features > MAX_WIDTH or cfg.hidden > MAX_WIDTH:
        raise FormatError("network wider than this decoder accepts")
    for w, shape in zip(weights, cfg.shapes()):
        if w.shape != tuple(shape):
            raise FormatError("weight tensor has the wrong shape")
        if w.size and int(np.abs(w).max()) >= WEIGHT_LIMIT:
            raise FormatError("weight outside the range the exact decoder accepts")


def logits(cfg: NetConfig, weights: list, feats: np.ndarray) -> np.ndarray:
    """Integer logits (scale 2**ACT_BITS), N x channels."""
    sin_t = sin_table()
    x = feats.astype(np.float64)
    n_layers = len(weights) // 2
    for layer in range(n_layers):
        w = weights[2 * layer].astype(np.float64)
        b = weights[2 * layer + 1].astype(np.float64) * ACT_ONE
        acc = x @ w.T + b                             # exact integers
        y = np.floor(acc / (1 << WEIGHT_BITS))        # floor shift, exact
        if layer < n_layers - 1:
            yi = y.astype(np.int64)
            if cfg.activation == "sine":
                y = sin_t[yi & (ACT_ONE - 1)].astype(np.float64)
            else:
                y = np.clip(yi, 0, ACT_LIMIT).astype(np.float64)
        x = y
    return x.astype(np.int64)


def probabilities(cfg: NetConfig, weights: list, feats: np.ndarray) -> np.ndarray:
    """P(bit = 1) as integers k in [1, 2**PROB_BITS - 1], N x channels."""
    r = LOGIT_RANGE << ACT_BITS
    z = np.clip(logits(cfg, weights, feats), -r, r - 1)
    return sigmoid_table()[(z + r) >> LOGIT_SHIFT]


def bits_cost(p1: np.ndarray, bits: np.ndarray) -> float:
    """Ideal code length in bits of `bits` under integer probabilities `p1`."""
    p = np.where(bits == 1, p1, (1 << PROB_BITS) - p1).astype(np.float64)
    return float(-np.log2(p / (1 << PROB_BITS)).sum())
