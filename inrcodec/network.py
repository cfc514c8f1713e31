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

from .model import COST_FLOOR, MIXTURE_LOGIT_LIMIT, NetConfig
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


def residual_size(resid: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The exact head's size of a residual: floor(log2(|r| / scale)) + 1, clipped to [-4, 8]
    (a step function: the loss takes no gradient through it)."""
    rel = torch.abs(resid) / scale
    return torch.clamp(torch.floor(torch.log2(torch.clamp(rel, min=2.0 ** -13))) + 1, -4.0, 8.0)


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
        wt = torch.sigmoid(torch.clamp(out[:, 3 * C + c], -MIXTURE_LOGIT_LIMIT, MIXTURE_LOGIT_LIMIT))
        x = values[:, c]

        def cdf(t, wt=wt, mu=mu, mu2=mu2, inv1=inv1, inv2=inv2):
            return wt * torch.sigmoid((t - mu) * inv1) + (1 - wt) * torch.sigmoid((t - mu2) * inv2)
        yield c, cdf
        resid.append(x - mu)
        sizes.append(residual_size(resid[-1].detach(), scale))


def nll_bits(out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor, values: torch.Tensor,
             top: torch.Tensor) -> torch.Tensor:
    """Code length in bits of every row's values under the head's distributions.

    out: N x O trunk outputs; anchor, values: N x C samples; scale: N (2**shift);
    top: N (2**bits). Returns N costs, differentiable in `out` alone (_HeadCost).
    """
    return _HeadCost.apply(out, anchor, scale, values, top)


def nll_bits_reference(out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor, values: torch.Tensor,
                       top: torch.Tensor) -> torch.Tensor:
    """nll_bits as autograd composes it from channel_cdfs (the tests check _HeadCost against it)."""
    total = torch.zeros(out.shape[0], device=out.device)
    for c, cdf in channel_cdfs(out, anchor, scale, values):
        x = values[:, c]
        hi = torch.where(x + 1 >= top, torch.ones_like(x), cdf(x + 0.5))
        lo = torch.where(x <= 0, torch.zeros_like(x), cdf(x - 0.5))
        total = total - torch.log2(torch.clamp(hi - lo, min=COST_FLOOR))
    return total


def _inside(t: torch.Tensor, limit: float) -> torch.Tensor:
    """Where clamp(t, -limit, limit) passes its gradient (the bounds included, as torch's)."""
    return (t >= -limit) & (t <= limit)


class _HeadCost(torch.autograd.Function):
    """nll_bits_reference's costs with the gradient written out by hand, every channel and
    both ends of the value's interval in one tensor: autograd's graph of the head's many
    small per-channel operations took a quarter of a Kodak fit's step (the tests hold the
    two to the same costs and gradients).

    Per channel c: F(t) = w sigmoid((t - mu) inv1) + (1 - w) sigmoid((t - mu2) inv2), the
    cost -log2(max(F(x + 1/2) - F(x - 1/2), 2^-20)) with F(x + 1/2) = 1 at the top and
    F(x - 1/2) = 0 at 0; mu and mu2 follow the earlier channels' residuals x_j - mu_j
    (clipped weights a_cj), the log-scales their sizes (weights b_cj, sizes constant)."""

    @staticmethod
    def forward(ctx, out, anchor, scale, values, top):
        # rows of N: every slice below is contiguous, and broadcasting runs over leading axes
        C = anchor.shape[1]
        pairs = C * (C - 1) // 2
        o, anchor, values = out.T.contiguous(), anchor.T, values.T
        m1 = anchor + torch.clamp(o[:C], -MEAN_LIMIT, MEAN_LIMIT) * scale
        m2 = anchor + torch.clamp(o[4 * C:5 * C], -MEAN_LIMIT, MEAN_LIMIT) * scale
        a = torch.clamp(o[5 * C:5 * C + pairs], -MIX_LIMIT, MIX_LIMIT)
        b = torch.clamp(o[5 * C + pairs:5 * C + 2 * pairs], -MIX_LIMIT, MIX_LIMIT)
        zero = torch.zeros_like(scale)
        follow, shift, resid, sizes = [], [], [], []
        for c in range(C):
            col = c * (c - 1) // 2                       # exact.mix_index(c, 0)
            follow.append(sum((a[col + j] * resid[j] for j in range(c)), zero))
            shift.append(sum((b[col + j] * sizes[j] for j in range(c)), zero))
            resid.append(values[c] - (m1[c] + follow[c]))
            sizes.append(residual_size(resid[c], scale))
        follow = torch.stack(follow)
        means = torch.stack([m1 + follow, m2 + follow])                          # part x C x N
        logs = torch.stack([o[C:3 * C:2], o[C + 1:3 * C:2]]) + torch.stack(shift)
        inv = torch.exp(-torch.clamp(logs, -LOGS_LIMIT, LOGS_LIMIT)) / scale
        w = torch.sigmoid(torch.clamp(o[3 * C:4 * C], -MIXTURE_LOGIT_LIMIT, MIXTURE_LOGIT_LIMIT))
        dist = torch.stack([values + 0.5, values - 0.5])[:, None] - means       # end x part x C x N
        s = torch.sigmoid(dist * inv)
        f = s[:, 0] * w + s[:, 1] * (1 - w)                                     # end x C x N
        d = torch.where(values + 1 >= top, 1.0, f[0]) - torch.where(values <= 0, 0.0, f[1])
        ctx.state = (C, pairs, o, a, resid, sizes, logs, inv, w, dist, s, d)
        ctx.save_for_backward(scale, values, top)
        return -torch.log2(torch.clamp(d, min=COST_FLOOR)).sum(0)

    @staticmethod
    def backward(ctx, grad):
        scale, values, top = ctx.saved_tensors
        C, pairs, o, a, resid, sizes, logs, inv, w, dist, s, d = ctx.state
        g_d = torch.where(d >= COST_FLOOR, -grad / (torch.clamp(d, min=COST_FLOOR) * math.log(2.0)), 0.0)
        g_f = torch.stack([torch.where(values + 1 >= top, 0.0, g_d), torch.where(values <= 0, 0.0, -g_d)])
        g_w = g_f[0] * (s[0, 0] - s[0, 1]) + g_f[1] * (s[1, 0] - s[1, 1])
        g_z = g_f[:, None] * torch.stack([w, 1 - w]) * s * (1 - s)           # end x part x C x N
        g_means = -(g_z[0] + g_z[1]) * inv                                      # part x C x N
        g_logs = torch.where(_inside(logs, LOGS_LIMIT), -(g_z[0] * dist[0] + g_z[1] * dist[1]) * inv, 0.0)
        g_shift = g_logs[0] + g_logs[1]
        through = [torch.zeros_like(scale) for _ in range(C)]   # d/d mu_j via later residuals
        g_a, g_b, g_m1 = [None] * pairs, [None] * pairs, [None] * C
        for c in range(C - 1, -1, -1):
            g_m1[c] = g_means[0, c] + through[c]
            g_follow = g_m1[c] + g_means[1, c]
            col = c * (c - 1) // 2
            for j in range(c):
                g_a[col + j] = g_follow * resid[j]
                g_b[col + j] = g_shift[c] * sizes[j]
                through[j] = through[j] - g_follow * a[col + j]
        blocks = [torch.where(_inside(o[:C], MEAN_LIMIT), torch.stack(g_m1) * scale, 0.0),
                  g_logs.transpose(0, 1).reshape(2 * C, -1),                   # rows (c, part)
                  torch.where(_inside(o[3 * C:4 * C], MIXTURE_LOGIT_LIMIT), g_w * w * (1 - w), 0.0),
                  torch.where(_inside(o[4 * C:5 * C], MEAN_LIMIT), g_means[1] * scale, 0.0)]
        if pairs:
            blocks.append(torch.where(_inside(o[5 * C:5 * C + 2 * pairs], MIX_LIMIT), torch.stack(g_a + g_b), 0.0))
        return torch.cat(blocks).T, None, None, None, None


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
