"""Integer lookup tables of the exact decoder: sine, logistic CDF, inverse scale.

They are part of the format. Each is defined by exact decimal arithmetic (no
platform libm involved, see the generators below), shipped precomputed in
`tables/NAME.i32` (int32 little endian) so start-up stays fast, and checked
against a SHA-256 fixed here: two machines can never disagree on them.
`python -m inrcodec.tables` regenerates the files (tests compare both ways).
"""
from __future__ import annotations

import hashlib
from decimal import Decimal, localcontext
from functools import lru_cache
from pathlib import Path

import numpy as np

ACT_BITS = 12            # activations and network outputs: fixed point, 12 fractional bits
ACT_ONE = 1 << ACT_BITS
WEIGHT_BITS = 14         # weights: fixed point, 14 fractional bits
NARROW_ACT_BITS = 7      # a relu16 trunk's features and activations (format 7, exact.py)
NARROW_WEIGHT_BITS = 8   # a relu16 trunk's weights: multiples of 2**-8
NARROW_STEP = 1 << (WEIGHT_BITS - NARROW_WEIGHT_BITS)   # ... which is this many 2**-14 units
PROB_BITS = 16           # bit probabilities reach the coder as k / 2**16
HALF_K = 1 << (PROB_BITS - 1)    # P = 1/2
SIN_SIZE = ACT_ONE       # SIN[k] = round(4096 sin(2 pi k / 4096)): one period
CDF_BITS = 30            # CDF[j] = round(2**30 / (1 + exp(-z))), z = (j - 4096 + 1/2) / 256
CDF_STEP_BITS = 8
CDF_SIZE = 32 << CDF_STEP_BITS           # z in [-16, 16)
INV_BITS = 16            # INV[i] = round(2**16 exp(-l)), l = (i + 1/2) / 64 - 8
INV_STEP_BITS = 6
INV_SIZE = 16 << INV_STEP_BITS           # l in [-8, 8)

TABLE_DIR = Path(__file__).resolve().parent / "tables"
SHA256 = {
    "sin": "54283d8ac7e93816a9c7c6c08c4b8c65db979bc20ef88a16d0d9d152b834b4c0",
    "cdf": "fc02f7b1c021ce07c3ecd2046c67de4468c4b72530460ec7f7bcb927f742e456",
    "inv": "40111250f5b247ab4c9e9614b357d8f6077fe3f6cbba4cc0e0a048c57c0aebcf",
}

_EPS = Decimal(10) ** -45


def _pi() -> Decimal:
    # Machin's formula, exact to the context precision
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


def generate(name: str) -> np.ndarray:
    """Compute a table from its definition (40 significant digits)."""
    with localcontext() as ctx:
        ctx.prec = 40
        half = Decimal(1) / 2
        if name == "sin":
            two_pi = 2 * _pi()
            vals = [_round_half_up(_sin(two_pi * (k if k <= SIN_SIZE // 2 else k - SIN_SIZE) / SIN_SIZE)
                                   * ACT_ONE) for k in range(SIN_SIZE)]
        elif name == "cdf":
            step = Decimal(1 << CDF_STEP_BITS)
            vals = [_round_half_up((1 << CDF_BITS) / (1 + (-((Decimal(j - CDF_SIZE // 2) + half) / step)).exp()))
                    for j in range(CDF_SIZE)]
        elif name == "inv":
            step = Decimal(1 << INV_STEP_BITS)
            vals = [_round_half_up((1 << INV_BITS) * (-((Decimal(i) + half) / step - 8)).exp())
                    for i in range(INV_SIZE)]
        else:
            raise KeyError(name)
    return np.array(vals, dtype=np.int64)


def digest(table: np.ndarray) -> str:
    return hashlib.sha256(table.astype("<i4").tobytes()).hexdigest()


@lru_cache(maxsize=None)
def load(name: str) -> np.ndarray:
    path = TABLE_DIR / f"{name}.i32"
    table = np.fromfile(path, "<i4").astype(np.int64) if path.exists() else generate(name)
    if digest(table) != SHA256[name]:
        raise RuntimeError(f"linr: the {name} table does not match its hash; "
                           "this installation cannot decode .linr files")
    return table


def sin_table() -> np.ndarray:
    return load("sin")


def cdf_table() -> np.ndarray:
    return load("cdf")


def inv_scale_table() -> np.ndarray:
    return load("inv")


def _main():
    TABLE_DIR.mkdir(exist_ok=True)
    for n in SHA256:
        t = generate(n)
        assert digest(t) == SHA256[n], n
        t.astype("<i4").tofile(TABLE_DIR / f"{n}.i32")
        print(n, len(t), digest(t))


if __name__ == "__main__":
    _main()
