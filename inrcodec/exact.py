"""The exact integer network and the probability of every bit-plane decision.

This is the only network the decoder runs. The trunk is an MLP with integer
weights (scale 2**WEIGHT_BITS) and fixed-point activations (scale
2**ACT_BITS): layer(x) = floor((x . W^T + (b << 12)) / 2**14); hidden layers
apply the sine table or a clipped ReLU. Products are accumulated in float64
holding exact integers (every partial sum stays below 2**53, see the
assertion), so the result is the same whatever order BLAS sums in, on any
machine and thread count.

The trunk's outputs give each channel a discretised distribution: a mixture
of two logistics, each with its mean and scale (a narrow and a wide one for
the tails, or two modes, as in a digit's ink and paper); a channel's means
and scales also follow the residuals of the channels decoded before it. The head turns it into P(bit = 1) for every
bit-plane decision, MSB first: with the value known to lie in [lo, hi) and
mid = lo + 2**b, P1 = (F(hi) - F(mid)) / (F(hi) - F(lo)), where F is the
tabulated logistic CDF (F(0) = 0 and F(2**n) = 2**30 absorb the tails).
"""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from .errors import FormatError
from .intmath import bit_length, clip
from .limits import MAX_WIDTH
from .model import NetConfig
from .tables import (ACT_BITS, ACT_ONE, CDF_BITS, CDF_SIZE, CDF_STEP_BITS, INV_BITS,
                     HALF_K, INV_STEP_BITS, NARROW_ACT_BITS, NARROW_STEP, NARROW_WEIGHT_BITS, PROB_BITS,
                     WEIGHT_BITS, cdf_table,
                     inv_scale_table, sin_table)

WEIGHT_LIMIT = 1 << (WEIGHT_BITS + 6)     # |w| < 64 in real units
ACT_LIMIT = 1 << (ACT_BITS + 8)           # ReLU activations clipped to [0, 256]
FEATURE_LIMIT = 1 << (ACT_BITS + 3)       # |feature| <= 8 (features.py clips to this)
assert max(ACT_LIMIT, FEATURE_LIMIT) * WEIGHT_LIMIT * (MAX_WIDTH + 2) < 2 ** 53

# The relu16 trunk (format 7): every value fits 16 bits and every sum 32, so a CPU's integer
# dot products run it (kernels.trunk16). Features and activations keep NARROW_ACT_BITS
# fractional bits (|feature| <= 8, activations clipped to [0, 8]); weights are multiples of
# NARROW_STEP (8 fractional bits), |w| < 16. A layer's sum s has NARROW_SUM_BITS fractional
# bits: hidden y = clip(s >> NARROW_WEIGHT_BITS, 0, NARROW_TOP), outputs s >> (15 - 12).
NARROW_SUM_BITS = NARROW_ACT_BITS + NARROW_WEIGHT_BITS
NARROW_WEIGHT_LIMIT = 1 << (WEIGHT_BITS + 4)             # |w| < 16 in real units
NARROW_TOP = 8 << NARROW_ACT_BITS                         # activations in [0, 8]
NARROW_FEATURE_SHIFT = ACT_BITS - NARROW_ACT_BITS
assert (MAX_WIDTH * NARROW_TOP * ((NARROW_WEIGHT_LIMIT - 1) // NARROW_STEP)
        + (WEIGHT_LIMIT << (NARROW_SUM_BITS - WEIGHT_BITS)) < 2 ** 31)

MEAN_LIMIT = 64 * ACT_ONE                 # mean offset: +-64 local scales
LOGS_LIMIT = 8 * ACT_ONE                  # log-scale l in [-8, 8): scale = 2**shift * e**l
MIX_LIMIT = 4 * ACT_ONE                   # channel mixing weights in [-4, 4]
# P1 = k / 2**16 within [2**-10, 1 - 2**-10]: every decision costs at least
# 2**-10 / ln 2 bit, which bounds the decisions a file of a given size holds
K_MIN, K_MAX = 64, (1 << PROB_BITS) - 64
# Format 13 clamps the pixel decisions' k to [2**-13, 1 - 2**-13] (mixing.py): each costs at
# least 2**-13 / ln 2 bit, and the work bound allows 2**14 decisions a coded bit (decoder.py)
FINE_K_MIN, FINE_K_MAX = 8, (1 << PROB_BITS) - 8
CDF_ONE = 1 << CDF_BITS


def check_weights(cfg: NetConfig, weights: list) -> None:
    for i, (w, shape) in enumerate(zip(weights, cfg.shapes())):
        if w.shape != tuple(shape):
            raise FormatError("weight tensor has the wrong shape")
        if w.size and int(np.abs(w).max()) >= WEIGHT_LIMIT:
            raise FormatError("weight outside the range the exact decoder accepts")
        if cfg.narrow and i % 2 == 0 and w.size and (int(np.abs(w).max()) >= NARROW_WEIGHT_LIMIT
                                                  or (w % NARROW_STEP).any()):
            raise FormatError("a relu16 network's weight is off its 16-bit grid")


class Prepared(list):
    """Weights as float64 (W, b << 12) pairs divided by 2**WEIGHT_BITS, converted once
    per image: x @ (W / 2**14) is exactly (x @ W) / 2**14 (a power of two only moves
    the exponent, and every partial sum stays an exact multiple of 2**-14 below
    2**53 of them), so the layer's shift costs no pass over the activations.

    A relu16 network's pairs are its 16-bit integers divided by its layers' shifts
    (2**8 hidden, 2**3 last), the same exact float64 arithmetic; `ints` keeps the
    integers (W as int16, b << 1 as int32) for the compiled int16 trunk."""
    narrow = False
    ints = None


def _as_pairs(w: np.ndarray, b: np.ndarray) -> tuple:
    """A relu16 layer in the compiled kernel's layout (_kernels.c, linr_trunk16): outputs
    padded to a multiple of 16, inputs to an even count, the weights as [k / 2][m][2] int16
    (a pixel's pairs of inputs meet the pairs of every output), the biases int32."""
    m, k = w.shape
    mp, kp = -(-m // 16) * 16, k + (k & 1)
    full = np.zeros((mp, kp), np.int16)
    full[:m, :k] = w
    bp = np.zeros(mp, np.int32)
    bp[:m] = b
    return np.ascontiguousarray(full.T.reshape(kp // 2, 2, mp).transpose(0, 2, 1)), bp


def prepare(weights: list, cfg: NetConfig) -> Prepared:
    if isinstance(weights, Prepared):
        return weights
    out = Prepared()
    if cfg.narrow:
        out.narrow, out.ints = True, []
        n = len(weights) // 2
        for layer in range(n):
            w = weights[2 * layer] // NARROW_STEP                        # exact: on the grid
            b = weights[2 * layer + 1] << (NARROW_SUM_BITS - WEIGHT_BITS)
            shift = NARROW_WEIGHT_BITS if layer < n - 1 else NARROW_SUM_BITS - ACT_BITS
            scale = 1.0 / (1 << shift)
            out.append((np.ascontiguousarray(w.astype(np.float64).T) * scale, b.astype(np.float64) * scale))
            out.ints.append(_as_pairs(w, b))
        return out
    scale = 1.0 / (1 << WEIGHT_BITS)
    for layer in range(len(weights) // 2):
        out.append((np.ascontiguousarray(weights[2 * layer].astype(np.float64).T) * scale,
                    weights[2 * layer + 1].astype(np.float64) * (ACT_ONE * scale)))
    return out


@lru_cache(maxsize=None)
def _sin_float() -> np.ndarray:
    return sin_table().astype(np.float64)


# The trunk runs a block of at most TRUNK_ROWS rows through every layer before the next
# block: a block's float64 layers (1024 x 96 x 8 bytes) stay in the core's cache between
# the product and the bias, floor and clip that follow it, where a walker's slice (8192
# rows, 6 MB a layer) went out to memory for each of them (photo-5's trunk: 1.74 -> 1.42 us
# a row on one thread). Its layers go to two arrays per thread, reused block after block:
# fresh arrays were pages the kernel zeroed and faulted in again every time.
TRUNK_ROWS = 1 << 10
_WORK = threading.local()


def _work(n: int, cols: int, which: int) -> np.ndarray:
    """Thread-local scratch: n x cols float64, buffer `which` (0 or 1) of this thread."""
    bufs = getattr(_WORK, "bufs", None)
    if bufs is None:
        bufs = _WORK.bufs = [np.empty(0), np.empty(0)]
    if bufs[which].size < n * cols:
        bufs[which] = np.empty(max(n * cols, TRUNK_ROWS * cols))
    return bufs[which][:n * cols].reshape(n, cols)


def trunk(cfg: NetConfig, weights: list, feats: np.ndarray, epilogue=None) -> np.ndarray:
    """Integer outputs (scale 2**ACT_BITS), N x cfg.out_features. Each row's integers depend
    on that row alone (every sum is exact), so the blocks change nothing. epilogue: a
    compiled floor(y + b) and clip of a layer in one pass (kernels.trunk_epilogue, the
    backend's), which may decline; numpy's three passes otherwise, with the same values."""
    layers = prepare(weights, cfg)
    if layers.narrow:                          # relu16: 7 fractional bits in, [0, 8] between layers
        feats = feats >> NARROW_FEATURE_SHIFT
    top = float(NARROW_TOP if layers.narrow else ACT_LIMIT)
    n = feats.shape[0]
    out = np.empty((n, layers[-1][0].shape[1]), np.int64)
    for a in range(0, n, TRUNK_ROWS):
        m = min(n - a, TRUNK_ROWS)
        x = _work(m, feats.shape[1], 0)
        np.copyto(x, feats[a:a + m])           # int64 -> float64: |feature| < 2**53, exact
        for i, (wt, b) in enumerate(layers):
            y = np.matmul(x, wt, out=_work(m, wt.shape[1], 1 - i % 2))   # already divided by the shift: exact
            hidden = i < len(layers) - 1
            relu = hidden and cfg.activation != "sine"
            if epilogue is None or not epilogue(y, b, relu, top):
                y += b
                np.floor(y, out=y)             # floor shift, exact
                if relu:
                    y.clip(0.0, top, out=y)    # the method: less dispatch than np.clip
            if hidden and not relu:
                y = np.take(_sin_float(), y.astype(np.int64) & (ACT_ONE - 1))
            x = y
        np.copyto(out[a:a + m], x, casting="unsafe")          # exact integers -> int64
    return out


def mix_index(c: int, j: int) -> int:
    """Output column of the weight tying channel c to channel j < c."""
    return c * (c - 1) // 2 + j


class Head:
    """Per-channel distributions of a batch of pixels, from the trunk's outputs."""

    def __init__(self, out: np.ndarray, anchor: np.ndarray, shift: np.ndarray, bits: int):
        self.channels = anchor.shape[1]
        self.out, self.anchor, self.shift, self.bits = out, anchor, shift, bits
        self.adapt = None                  # the image's adapt.Adapt tables (format 3), set by the walker
        self.residual = {}                 # channel -> (value << 12) - mean, once decoded
        self.size = {}                     # channel -> log2 of |residual| in local units, 12-bit fixed

    # output columns: first means 0..C-1, log-scales C..3C-1 (two per channel),
    # mixture weights 3C..4C-1, second means 4C..5C-1, then per pair j < c (in
    # mix_index order) the mean coupling alpha, then per pair the scale coupling beta
    def mean(self, c: int) -> tuple:
        """The two means of channel c, in samples with ACT_BITS fractional bits."""
        shift_c = 0
        for j in range(c):
            a = clip(self.out[:, 5 * self.channels + mix_index(c, j)].copy(), -MIX_LIMIT, MIX_LIMIT)
            shift_c = shift_c + ((a * self.residual[j]) >> ACT_BITS)
        lim = 1 << (self.bits + ACT_BITS)
        out = []
        for col in (c, 4 * self.channels + c):
            m = clip(self.out[:, col].copy(), -MEAN_LIMIT, MEAN_LIMIT)
            out.append(clip((self.anchor[:, c] << ACT_BITS) + (m << self.shift) + shift_c, -lim, 2 * lim))
        return tuple(out)

    def distribution(self, c: int):
        """(inverse scale 1, inverse scale 2, weight of component 1 in 2**-30 units)."""
        C, table = self.channels, inv_scale_table()
        l1, l2 = self.out[:, C + 2 * c], self.out[:, C + 2 * c + 1]
        pairs = C * (C - 1) // 2
        for j in range(c):
            b = clip(self.out[:, 5 * C + pairs + mix_index(c, j)].copy(), -MIX_LIMIT, MIX_LIMIT)
            adj = (b * self.size[j]) >> ACT_BITS
            l1, l2 = l1 + adj, l2 + adj
        l1 = clip(l1.copy(), -LOGS_LIMIT, LOGS_LIMIT - 1)
        l2 = clip(l2.copy(), -LOGS_LIMIT, LOGS_LIMIT - 1)
        w = self.out[:, 3 * C + c] >> (ACT_BITS - CDF_STEP_BITS)
        return (table[(l1 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)],
                table[(l2 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)],
                cdf_table()[clip(w + CDF_SIZE // 2, 0, CDF_SIZE - 1)])

    def cdf(self, t: np.ndarray, mu: tuple, dist) -> np.ndarray:
        """F(t) = P(value < t) * 2**30 for integer boundaries t in [0, 2**n].

        Each component's CDF is the table interpolated linearly between its
        entries (8 fractional bits), so intervals narrower than a table step
        (low planes of 16-bit images) still split in proportion."""
        inv1, inv2, weight = dist
        half = (t << ACT_BITS) - (ACT_ONE >> 1)
        shift = ACT_BITS + INV_BITS - CDF_STEP_BITS - INTERP_BITS + self.shift
        f1 = _table_cdf(((half - mu[0]) * inv1) >> shift)
        f2 = _table_cdf(((half - mu[1]) * inv2) >> shift)
        f1 -= f2                                       # w f1 + (1 - w) f2 = f2 + w (f1 - f2)
        f1 *= weight
        f1 >>= CDF_BITS
        f = f1 + f2
        f[t <= 0] = 0
        f[t >= (1 << self.bits)] = CDF_ONE
        return f

    def set_value(self, c: int, value: np.ndarray, mu: tuple) -> None:
        """Record channel c's decoded value: its residual from the first mean."""
        r = (value.astype(np.int64) << ACT_BITS) - mu[0]
        self.residual[c] = r
        # size = bit_length(|r| / 2**shift in 12-bit fixed point) - 12, clipped to [-4, 8]:
        # about log2 of the residual in local units
        self.size[c] = clip(bit_length(np.abs(r) >> self.shift) - ACT_BITS, -4, 8) << ACT_BITS


INTERP_BITS = 8               # fractional bits of the CDF table position


@lru_cache(maxsize=None)
def cdf_padded() -> np.ndarray:
    """The CDF table with its last entry repeated, so index i + 1 is always valid."""
    table = cdf_table()
    return np.append(table, table[-1])


def _table_cdf(z: np.ndarray) -> np.ndarray:
    """CDF at z (table steps with INTERP_BITS fractional bits), linearly interpolated;
    constant at the table's ends."""
    table = cdf_padded()
    z += (CDF_SIZE // 2) << INTERP_BITS
    z = clip(z, 0, (CDF_SIZE - 1) << INTERP_BITS)
    i = z >> INTERP_BITS
    z &= (1 << INTERP_BITS) - 1                      # the fraction
    lo = table[i]
    i += 1
    hi = table[i]
    hi -= lo
    hi *= z
    hi >>= INTERP_BITS
    hi += lo
    return hi


def bit_probability(f_lo: np.ndarray, f_mid: np.ndarray, f_hi: np.ndarray, lo: int = K_MIN,
                    hi: int = K_MAX) -> np.ndarray:
    """k = P(bit = 1) * 2**16 for a value in [lo, hi) with mid its split point, clamped to
    [lo, hi] ([FINE_K_MIN, FINE_K_MAX] in format 13)."""
    d = f_hi - f_lo
    safe = np.maximum(d, 1)
    k = (((f_hi - f_mid) << PROB_BITS) + (safe >> 1)) // safe
    k = clip(k, lo, hi)
    k[d <= 0] = HALF_K
    return k


@lru_cache(maxsize=None)
def _bit_lengths() -> np.ndarray:
    """-log2(p / 2**16) for p = 0 .. 2**16 (p = 0: infinite): a lookup instead of a logarithm."""
    with np.errstate(divide="ignore"):
        return -np.log2(np.arange((1 << PROB_BITS) + 1, dtype=np.float64) / (1 << PROB_BITS))


def decision_bits(k: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Ideal code length in bits of each decision of `bits` under P1 = k / 2**16."""
    k = np.asarray(k, np.int64)
    return _bit_lengths()[np.where(bits == 1, k, (1 << PROB_BITS) - k)]


def bits_cost(k: np.ndarray, bits: np.ndarray) -> float:
    """Ideal code length in bits of `bits` under P1 = k / 2**16."""
    return float(decision_bits(k, bits).sum())
