"""Integer lookup tables of the exact forward pass.

They are part of the format: generated from exact decimal arithmetic (no
platform libm involved) and checked against a hash fixed in the code, so two
machines can never disagree on them.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal, getcontext
from functools import lru_cache

import numpy as np

ACT_BITS = 12            # activations are fixed point with 12 fractional bits
ACT_ONE = 1 << ACT_BITS
WEIGHT_BITS = 14         # weights are fixed point with 14 fractional bits
PROB_BITS = 16           # coding probabilities are k / 2**16, 1 <= k < 2**16
LOGIT_RANGE = 16         # logits are clamped to [-16, 16)
LOGIT_SHIFT = 4          # sigmoid table step: 2**(4 - 12) = 1/256 in logit units
SIN_SIZE = ACT_ONE       # sin(2*pi*z) has period 1 = ACT_ONE fixed-point units

# SHA-256 of the two tables (int32 little endian); a mismatch means the
# generator changed, which would change every bitstream: refuse to run.
SIN_TABLE_SHA256 = "54283d8ac7e93816a9c7c6c08c4b8c65db979bc20ef88a16d0d9d152b834b4c0"
SIGMOID_TABLE_SHA256 = "4837186d5f7875f3af00d9817db7dfe6d91febb91010aa476191d0bf457b5209"


_EPS = Decimal(10) ** -45


def _pi() -> Decimal:
    # Machin's formula, exact to the context precision.
    def arctan_inv(x: int) -> Decimal:
        x2, term, total, k = x * x, Decimal(1) / x, Decimal(0), 0
        while term > _EPS:
            total += term / (2 * k + 1) if k % 2 == 0 else -term / (2 * k + 1)
            term /= x2
            k += 1
        return total
    return 4 * (4 * arctan_inv(5) - arctan_inv(239))


def _sin(x: Decimal) -> Decimal:
    term, total, k = x, Decimal(0), 1
    while abs(term) > _EPS:
        total += term
        term = -term * x * x / ((k + 1) * (k + 2))
        k += 2
    return total


def _round_half_up(x: Decimal) -> int:
    return int((x + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.astype("<i4").tobytes()).hexdigest()


@lru_cache(maxsize=None)
def sin_table() -> np.ndarray:
    """round(sin(2*pi*k/ACT_ONE) * ACT_ONE) for k in [0, ACT_ONE)."""
    getcontext().prec = 40
    two_pi = 2 * _pi()
    vals = []
    for k in range(SIN_SIZE):
        # reduce to [-pi, pi] so the series converges fast
        kk = k if k <= SIN_SIZE // 2 else k - SIN_SIZE
        vals.append(_round_half_up(_sin(two_pi * kk / SIN_SIZE) * ACT_ONE))
    table = np.array(vals, dtype=np.int64)
    _check("sine", table, SIN_TABLE_SHA256)
    return table


@lru_cache(maxsize=None)
def sigmoid_table() -> np.ndarray:
    """P(bit = 1) * 2**PROB_BITS for each clamped logit bucket, in [1, 2**16 - 1]."""
    getcontext().prec = 40
    n = (2 * LOGIT_RANGE * ACT_ONE) >> LOGIT_SHIFT
    step = Decimal(1 << LOGIT_SHIFT) / ACT_ONE
    vals = []
    for j in range(n):
        # centre of the bucket, in logit units
        z = -LOGIT_RANGE + (Decimal(j) + Decimal("0.5")) * step
        p = 1 / (1 + (-z).exp())
        vals.append(min(max(_round_half_up(p * (1 << PROB_BITS)), 1), (1 << PROB_BITS) - 1))
    table = np.array(vals, dtype=np.int64)
    _check("sigmoid", table, SIGMOID_TABLE_SHA256)
    return table


def _check(name: str, table: np.ndarray, expected: str) -> None:
    if expected and _sha(table) != expected:
        raise RuntimeError(f"linr: the {name} table does not match its hash; "
                           "this build cannot decode .linr files")
