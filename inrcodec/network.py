"""The float (torch) twin of the integer network, for fitting and training only.

The decoder never runs it (see exact.py); it imports no torch. FloatNet is
parameterised as base + delta, so a prior is the base and the encoder fits
the delta. `nll_bits` is the discretised logistic likelihood that the exact
head's bit-plane decisions multiply out to, so training optimises what the
coder pays for.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from .model import NetConfig
from .tables import ACT_ONE, NARROW_ACT_BITS, NARROW_WEIGHT_BITS, WEIGHT_BITS

# the exact head's clamps (exact.py), in real units
MEAN_LIMIT, LOGS_LIMIT, MIX_LIMIT = 64.0, 8.0, 4.0
# relu16's grid (exact.NARROW_*), in real units: features and activations on steps of 2**-7,
# features in [-8, 8], activations in [0, 8]; weights on steps of 2**-8, |w| < 16
NARROW_ACT_STEP, NARROW_WEIGHT_STEP = 2.0 ** -NARROW_ACT_BITS, 2.0 ** -NARROW_WEIGHT_BITS
NARROW_TOP, NARROW_W_MAX = 8.0, 16.0 - NARROW_WEIGHT_STEP


def on_grid(t: torch.Tensor, step: float, lo: float, hi: float, rounding=torch.floor) -> torch.Tensor:
    """t clipped to [lo, hi] and rounded to multiples of step as the exact trunk does, with the
    rounding's gradient passed straight through (the clip's is zero outside it)."""
    t = torch.clamp(t, lo, hi)
    return t + (rounding(t / step) * step - t).detach()


class _FloorGrid(torch.autograd.Function):
    """on_grid with floor in one allocation and in-place passes (a fit's hidden layers: the
    composed version took a fifth more of a Kodak fit's time)."""

    @staticmethod
    def forward(ctx, t, step: float, lo: float, hi: float):
        ctx.save_for_backward(t)
        ctx.lo, ctx.hi = lo, hi
        return torch.clamp(t, lo, hi).mul_(1.0 / step).floor_().mul_(step)

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        # grad where lo <= t <= hi, else 0, in one pass: hardtanh's backward passes it where
        # lo' < t < hi', and float32 holds nothing between lo' and lo or hi and hi' (the mask
        # and product took 0.16 ms a layer here, a fifth of a Kodak fit's step)
        lo, hi = _outside(ctx.lo, ctx.hi, t.dtype)
        return torch.ops.aten.hardtanh_backward(grad, t, lo, hi), None, None, None


@functools.lru_cache(maxsize=None)
def _outside(lo: float, hi: float, dtype) -> tuple:
    """The neighbours of lo below and of hi above in dtype."""
    step = lambda v, to: torch.nextafter(torch.tensor(v, dtype=dtype), torch.tensor(to, dtype=dtype)).item()  # noqa: E731
    return step(lo, -math.inf), step(hi, math.inf)


class FloatNet(torch.nn.Module):
    """Float twin of the integer trunk, parameterised as base + delta."""

    def __init__(self, cfg: NetConfig, base: list, grid_weights: bool = True):
        """grid_weights (relu16): round the weights to their grid in every forward pass, as a
        prior's training must (it writes them as they are). The encoder's delta fit does not:
        its delta is quantised to its own step afterwards, and rounding base + delta to 2**-8
        in every step cost the 7 768x512 validation photos 0.17%."""
        super().__init__()
        self.cfg = cfg
        self.grid_weights = grid_weights
        scale = 1.0 / (1 << WEIGHT_BITS)
        self.base = [torch.tensor(np.asarray(b) * scale, dtype=torch.float32) for b in base]
        self.delta = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros_like(b)) for b in self.base])
        self.quantizer = None    # set by QAT: maps (index, delta) -> fake-quantised delta

    def to(self, *args, **kwargs):
        self.base = [b.to(*args, **kwargs) for b in self.base]
        return super().to(*args, **kwargs)

    def weights(self) -> list:
        out = [b + (self.quantizer(i, d) if self.quantizer else d)
               for i, (b, d) in enumerate(zip(self.base, self.delta))]
        if self.cfg.narrow and self.grid_weights:
            out[0::2] = [on_grid(w, NARROW_WEIGHT_STEP, -NARROW_W_MAX, NARROW_W_MAX, torch.round)
                         for w in out[0::2]]
        return out

    def _activation(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.activation == "sine":
            return torch.sin(2 * math.pi * x)
        if self.cfg.narrow:
            return _FloorGrid.apply(x, NARROW_ACT_STEP, 0.0, NARROW_TOP)
        # hardtanh is clamp(x, 0, 256) with one fused backward (clamp's took a fifth of a
        # fit's time in comparisons and where); they differ only in the gradient at 0 or 256
        return F.hardtanh(x, 0.0, 256.0)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """x: N x F features as floats (integer features / ACT_ONE); with start > 0,
        x is the input of layer `start` (e.g. cached hidden activations)."""
        w = self.weights()
        n_layers = len(w) // 2
        if self.cfg.narrow and start == 0:
            x = on_grid(x, NARROW_ACT_STEP, -8.0, 8.0)
        for layer in range(start, n_layers):
            x = x @ w[2 * layer].T + w[2 * layer + 1]
            if layer < n_layers - 1:
                x = self._activation(x)
        return x

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The input of the last layer (no gradient): cache it to fit the last layer alone."""
        with torch.no_grad():
            w = self.weights()
            if self.cfg.narrow:
                x = on_grid(x, NARROW_ACT_STEP, -8.0, 8.0)
            for layer in range(len(w) // 2 - 1):
                x = self._activation(x @ w[2 * layer].T + w[2 * layer + 1])
        return x

    def integer_weights(self) -> list:
        """round(weights * 2**14) as int64 arrays (what QAT-free quantisation writes)."""
        return [np.round(w.detach().cpu().double().numpy() * (1 << WEIGHT_BITS)).astype(np.int64)
                for w in self.weights()]


def channel_cdfs(out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor, values: torch.Tensor):
    """Per channel, the float twin of the exact head's CDF: yields (c, cdf(t))."""
    C = anchor.shape[1]
    resid, sizes = [], []
    for c in range(C):
        follow = 0.0
        for j in range(c):
            a = torch.clamp(out[:, 5 * C + c * (c - 1) // 2 + j], -MIX_LIMIT, MIX_LIMIT)
            follow = follow + a * resid[j]
        mu = anchor[:, c] + torch.clamp(out[:, c], -MEAN_LIMIT, MEAN_LIMIT) * scale + follow
        mu2 = anchor[:, c] + torch.clamp(out[:, 4 * C + c], -MEAN_LIMIT, MEAN_LIMIT) * scale + follow
        l1, l2 = out[:, C + 2 * c], out[:, C + 2 * c + 1]
        for j in range(c):
            b = torch.clamp(out[:, 5 * C + C * (C - 1) // 2 + c * (c - 1) // 2 + j], -MIX_LIMIT, MIX_LIMIT)
            l1, l2 = l1 + b * sizes[j], l2 + b * sizes[j]
        inv1 = torch.exp(-torch.clamp(l1, -LOGS_LIMIT, LOGS_LIMIT)) / scale
        inv2 = torch.exp(-torch.clamp(l2, -LOGS_LIMIT, LOGS_LIMIT)) / scale
        wt = torch.sigmoid(torch.clamp(out[:, 3 * C + c], -16.0, 16.0))
        x = values[:, c]

        def cdf(t, wt=wt, mu=mu, mu2=mu2, inv1=inv1, inv2=inv2):
            return wt * torch.sigmoid((t - mu) * inv1) + (1 - wt) * torch.sigmoid((t - mu2) * inv2)
        yield c, cdf
        resid.append(x - mu)
        # the exact head's size: floor(log2(|r| / scale)) + 1, clipped to [-4, 8]
        rel = (torch.abs(x - mu) / scale).detach()
        sizes.append(torch.clamp(torch.floor(torch.log2(torch.clamp(rel, min=2.0 ** -13))) + 1, -4.0, 8.0))


def nll_bits(out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor, values: torch.Tensor,
             top: torch.Tensor) -> torch.Tensor:
    """Code length in bits of every row's values under the head's distributions.

    out: N x O trunk outputs; anchor, values: N x C samples; scale: N (2**shift);
    top: N (2**bits). Returns N costs.
    """
    total = torch.zeros(out.shape[0], device=out.device)
    for c, cdf in channel_cdfs(out, anchor, scale, values):
        x = values[:, c]
        hi = torch.where(x + 1 >= top, torch.ones_like(x), cdf(x + 0.5))
        lo = torch.where(x <= 0, torch.zeros_like(x), cdf(x - 0.5))
        total = total - torch.log2(torch.clamp(hi - lo, min=2.0 ** -20))
    return total


@torch.no_grad()
def bit_errors(out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor, values: torch.Tensor,
               top: torch.Tensor) -> int:
    """How many bit-plane decisions the model gets wrong (P(true bit) < 1/2): the
    paper's criterion, BER = 0, is this count reaching zero."""
    wrong = 0
    bits = torch.round(torch.log2(top)).long()
    for c, cdf in channel_cdfs(out, anchor, scale, values):
        x = values[:, c].long()
        for b in range(int(bits.max()) - 1, -1, -1):
            on = bits > b
            lo = (x >> (b + 1)) << (b + 1)
            mid, hi = lo + (1 << b), lo + (2 << b)

            def f(t):
                tf = t.to(values.dtype)
                return torch.where(t <= 0, torch.zeros_like(tf),
                                   torch.where(tf >= top, torch.ones_like(tf), cdf(tf - 0.5)))
            p1 = (f(hi) - f(mid)) / torch.clamp(f(hi) - f(lo), min=1e-30)
            truth = ((x >> b) & 1) == 1
            wrong += int((((p1 > 0.5) != truth) & on).sum())
    return wrong


def rows_to_tensors(rows, device="cpu") -> dict:
    """Training rows (walker.image_rows) as float32 tensors."""
    feats, anchor, shift, values, bits = rows
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)
    # |feature| < 2**24: exact in float32, and so is the division by a power of two (no
    # float64 copy of the features: a million rows of them)
    x = feats.astype(np.float32)
    x *= np.float32(1.0 / ACT_ONE)
    return {"x": f(x), "anchor": f(anchor), "scale": f(np.exp2(shift.astype(np.float64))),
            "values": f(values), "top": f(np.exp2(bits.astype(np.float64)))}
