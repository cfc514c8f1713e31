"""The network's architecture and its seeded initialisation (no torch).

`NetConfig` is everything that fixes the shape of the network; the file
header carries it. The network is a trunk MLP evaluated once per pixel on
the pixel's decoded neighbourhood (features.py); its outputs are, per
channel, two means, two log-scales and a mixture weight, plus the weights that tie a channel
to the residuals of the channels decoded before it (exact.py turns them into
the probability of every bit-plane decision).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .limits import MAX_LAYERS, MAX_WIDTH
from .tables import NARROW_STEP, WEIGHT_BITS

# The float twin's loss (network.py, cpu_fit.py): the clip of a mixture weight's logit, and the
# smallest probability a value is given
MIXTURE_LOGIT_LIMIT = 16.0
COST_FLOOR = 2.0 ** -20
# relu16 is a ReLU whose trunk runs on a 16-bit integer grid (format 7, exact.py): the
# same network shape, a faster trunk, coarser weights
ACTIVATIONS = ("sine", "relu", "relu16")


def feature_count(channels: int) -> int:
    # 12 neighbours x C differences to the anchor, C anchor levels, the local
    # scale, bit depth, level, pass kind, x, y
    return 13 * channels + 6


def output_count(channels: int) -> int:
    # per channel: two means, two log-scales and the weight of the first (a
    # mixture of two logistics); per pair j < c: how channel c's means follow
    # channel j's residual, and how its scales follow that residual's size
    return 5 * channels + channels * (channels - 1)


@dataclass(frozen=True)
class NetConfig:
    channels: int
    hidden: int = 32
    layers: int = 2             # hidden layers
    activation: str = "relu"

    @property
    def narrow(self) -> bool:
        """A relu16 network: the trunk on the 16-bit grid (format 7, exact.py)."""
        return self.activation == "relu16"

    def __post_init__(self):
        if self.channels not in (1, 2, 3, 4) or not 1 <= self.hidden <= MAX_WIDTH \
                or not 1 <= self.layers <= MAX_LAYERS or self.activation not in ACTIVATIONS:
            raise ValueError(f"invalid network configuration {self}")

    @property
    def in_features(self) -> int:
        return feature_count(self.channels)

    @property
    def out_features(self) -> int:
        return output_count(self.channels)

    def shapes(self) -> list:
        """Shapes of the parameter tensors: W0, b0, W1, b1, ..., Wout, bout."""
        dims = [self.in_features] + [self.hidden] * self.layers + [self.out_features]
        out = []
        for a, b in zip(dims[:-1], dims[1:]):
            out += [(b, a), (b,)]
        return out

    def parameters(self) -> int:
        return sum(a * (b[0] if b else 1) for a, *b in self.shapes())


def splitmix64(seed: int, count: int) -> np.ndarray:
    """SplitMix64 outputs 1..count for `seed`: identical on every platform."""
    gold = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed & ((1 << 64) - 1)) * gold + np.arange(1, count + 1, dtype=np.uint64) * gold
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


INV_TWO_PI_Q16 = 10430          # round(2**16 / (2 pi)): the init is integer arithmetic only


def init_bounds(cfg: NetConfig) -> list:
    """Per tensor, the bound B (in 2**-14 units) of its uniform initial values."""
    out = []
    shapes = cfg.shapes()
    for idx, shape in enumerate(shapes):
        f = shapes[idx - (idx % 2)][1]              # fan-in of the layer
        root6 = math.isqrt((6 << 28) // f)          # sqrt(6 / f) * 2**14
        if idx % 2:
            b = (math.isqrt((1 << 28) // f) * INV_TWO_PI_Q16) >> 16     # 1 / (2 pi sqrt f)
        elif cfg.activation != "sine":
            b = root6 >> 1                                                # sqrt(6 / f) / 2
        elif idx == 0:
            b = ((1 << WEIGHT_BITS) * INV_TWO_PI_Q16 // f) >> 16          # 1 / (2 pi f)
        else:
            b = (root6 * INV_TWO_PI_Q16) >> 16                            # sqrt(6 / f) / (2 pi)
        out.append(0 if idx >= len(shapes) - 2 else b)
    return out


def seeded_init(cfg: NetConfig, seed: int) -> list:
    """Integer weights (scale 2**WEIGHT_BITS) drawn from SplitMix64, integers only.

    The values of all tensors, in order, take consecutive outputs r of
    splitmix64(seed); a value of a tensor with bound B is
    ((2 * (r >> 32) - 2**32) * B) >> 32, in [-B, B). Bounds (init_bounds):
    SIREN's for sine (sin(2 pi z) parameterisation), He-uniform for ReLU.
    The output weights start at zero, so the prediction starts as the anchor;
    the output biases start at zero too, except the log-scales: -1/2 for the
    narrow component and 3/2 for the wide one.
    """
    shapes = cfg.shapes()
    rnd = (splitmix64(seed, sum(int(np.prod(s)) for s in shapes)) >> np.uint64(32)).astype(np.int64)
    out, pos = [], 0
    for shape, b in zip(shapes, init_bounds(cfg)):
        size = int(np.prod(shape))
        u = rnd[pos:pos + size]
        pos += size
        out.append((((2 * u - (1 << 32)) * b) >> 32).reshape(shape))
    if cfg.narrow:                            # onto relu16's grid, floored
        out[0::2] = [w - w % NARROW_STEP for w in out[0::2]]
    c = cfg.channels
    out[-1][c:3 * c:2] = -(1 << WEIGHT_BITS) // 2
    out[-1][c + 1:3 * c:2] = 3 * (1 << WEIGHT_BITS) // 2
    return out
