"""The bit-plane INR: f(x, y, plane, context) -> one logit per channel.

`NetConfig` is everything that fixes the architecture (it is written in the
file header). `FloatNet` is the torch model used for fitting and QAT; the
decoder never runs it (see exact.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .bitplanes import feature_count
from .tables import ACT_ONE, WEIGHT_BITS

ACTIVATIONS = ("sine", "relu")
MAX_WIDTH = 256


@dataclass(frozen=True)
class NetConfig:
    channels: int
    context: bool = True
    hidden: int = 32
    layers: int = 2             # hidden layers
    activation: str = "sine"
    relative: bool = True       # adds neighbour positions relative to the open interval

    @property
    def in_features(self) -> int:
        return feature_count(self.channels, self.context, self.relative)

    def shapes(self) -> list:
        """Shapes of the parameter tensors: W0, b0, W1, b1, ..., Wout, bout."""
        dims = [self.in_features] + [self.hidden] * self.layers + [self.channels]
        out = []
        for a, b in zip(dims[:-1], dims[1:]):
            out += [(b, a), (b,)]
        return out


def _splitmix64(seed: int, count: int) -> np.ndarray:
    """SplitMix64, vectorised: identical on every platform (unlike library RNGs)."""
    gold = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = np.uint64(seed & ((1 << 64) - 1)) * gold + np.arange(1, count + 1, dtype=np.uint64) * gold
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def seeded_init(cfg: NetConfig, seed: int, w0: float = 30.0) -> list:
    """SIREN initialisation as integers (scale 2**WEIGHT_BITS), from `seed`.

    Parameterised as sin(2*pi*(Wx + b)), so SIREN's sin(w0*(Wx + b)) bounds
    are divided by 2*pi. Exactly reproducible, so a file can name it by seed.
    """
    shapes = cfg.shapes()
    rnd = _splitmix64(seed, sum(int(np.prod(s)) for s in shapes))
    out, pos = [], 0
    for idx, shape in enumerate(shapes):
        size = int(np.prod(shape))
        u = (rnd[pos:pos + size] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        pos += size
        fan_in = shape[1] if len(shape) == 2 else shapes[idx - 1][1]
        layer = idx // 2
        if cfg.activation == "sine":
            bound = (w0 / fan_in if layer == 0 else math.sqrt(6 / fan_in)) / (2 * math.pi)
        else:
            bound = math.sqrt(6 / fan_in) / 2
        if len(shape) == 1:
            bound = 1 / math.sqrt(fan_in) / (2 * math.pi)
        out.append(np.round((2 * u - 1) * bound * (1 << WEIGHT_BITS)).astype(np.int64).reshape(shape))
    return out


class FloatNet(torch.nn.Module):
    """Float twin of the integer network, parameterised as base + delta."""

    def __init__(self, cfg: NetConfig, base: list):
        super().__init__()
        self.cfg = cfg
        scale = 1.0 / (1 << WEIGHT_BITS)
        self.base = [torch.tensor(b * scale, dtype=torch.float32) for b in base]
        self.delta = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros_like(b)) for b in self.base])
        self.quantizer = None    # set by QAT: maps (index, delta) -> fake-quantised delta

    def to(self, *args, **kwargs):
        self.base = [b.to(*args, **kwargs) for b in self.base]
        return super().to(*args, **kwargs)

    def weights(self) -> list:
        out = []
        for i, (b, d) in enumerate(zip(self.base, self.delta)):
            out.append(b + (self.quantizer(i, d) if self.quantizer else d))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N x F features as floats (integer features / ACT_ONE)."""
        w = self.weights()
        n_layers = len(w) // 2
        for layer in range(n_layers):
            x = x @ w[2 * layer].T + w[2 * layer + 1]
            if layer < n_layers - 1:
                x = torch.sin(2 * math.pi * x) if self.cfg.activation == "sine" else torch.relu(x)
        return x


def features_to_float(feats: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(feats.astype(np.float32) / ACT_ONE)
