"""The network's architecture and its seeded initialisation (no torch).

`NetConfig` is everything that fixes the shape of the network; the file
header carries it. The network is a trunk MLP evaluated once per pixel on
the pixel's decoded neighbourhood (features.py); its outputs are, per
channel, a mean offset and a log-scale, plus the weights that tie a channel
to the residuals of the channels decoded before it (exact.py turns them into
the probability of every bit-plane decision).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .limits import MAX_LAYERS, MAX_WIDTH
from .tables import WEIGHT_BITS

ACTIVATIONS = ("sine", "relu")


def feature_count(channels: int) -> int:
    # 12 neighbours x C differences to the anchor, C anchor levels, the local
    # scale, bit depth, level, pass kind, x, y
    return 13 * channels + 6


def output_count(channels: int) -> int:
    # per channel: mean offset and log-scale; per pair j < c: a mixing weight
    return 2 * channels + channels * (channels - 1) // 2


@dataclass(frozen=True)
class NetConfig:
    channels: int
    hidden: int = 32
    layers: int = 2             # hidden layers
    activation: str = "relu"

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
        return sum(int(np.prod(s)) for s in self.shapes())


def splitmix64(seed: int, count: int) -> np.ndarray:
    """SplitMix64 outputs 1..count for `seed`: identical on every platform."""
    gold = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed & ((1 << 64) - 1)) * gold + np.arange(1, count + 1, dtype=np.uint64) * gold
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def seeded_init(cfg: NetConfig, seed: int) -> list:
    """Integer weights (scale 2**WEIGHT_BITS) drawn uniformly from SplitMix64.

    Tensor t of fan-in f gets values round((2u - 1) * B * 2**14), u = (r >> 11) / 2**53,
    with B = sqrt(6 / f) / 2 for weights (ReLU; sine: 1 / (2 pi) times
    sqrt(6 / f), first layer 1 / f) and B = 1 / (2 pi sqrt(f)) for biases.
    The output layer starts at zero: the prediction starts as the anchor.
    """
    shapes = cfg.shapes()
    rnd = splitmix64(seed, sum(int(np.prod(s)) for s in shapes))
    out, pos = [], 0
    for idx, shape in enumerate(shapes):
        size = int(np.prod(shape))
        u = (rnd[pos:pos + size] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        pos += size
        fan_in = shapes[idx - (idx % 2)][1]
        layer = idx // 2
        if cfg.activation == "sine":
            bound = (1.0 / fan_in if layer == 0 else math.sqrt(6 / fan_in)) / (2 * math.pi)
        else:
            bound = math.sqrt(6 / fan_in) / 2
        if len(shape) == 1:
            bound = 1 / math.sqrt(fan_in) / (2 * math.pi)
        if idx >= len(shapes) - 2:
            bound = 0.0
        out.append(np.round((2 * u - 1) * bound * (1 << WEIGHT_BITS)).astype(np.int64).reshape(shape))
    return out
