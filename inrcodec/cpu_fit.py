"""The encoder's delta fit on the CPU without torch: numpy's matrix products and the C
kernels' fused passes between them (kernels.fit_*).

The same model, loss and optimiser as fitting.train on network.FloatNet with grid_weights
off: the float twin of a relu or relu16 network (the built-in priors and seeded networks),
the head's code length (network._HeadCost's formulas), Adam with torch's arithmetic, the L1
price of the delta, QAT's straight-through rounding; in float32, one BLAS thread, each
minibatch in two halves on two cores. The minibatches are drawn by numpy, so a fit lands
where torch's would within a fit's noise, not on the same bytes. A command-line fit spent about 1 s importing torch and most of each step
in torch's small operations; here each layer is a product and one fused pass. torch is
still what trains priors, fits sine networks, runs --mode ber0 and --device cuda.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import interrupt, kernels, threads
from .model import NetConfig
from .tables import ACT_ONE, NARROW_ACT_BITS, WEIGHT_BITS

BETAS, EPS = (0.9, 0.999), 1e-8         # fitting.Adam's (torch's defaults)
NARROW_STEP = np.float32(2.0 ** -NARROW_ACT_BITS)     # relu16's grid


def supports(cfg: NetConfig) -> bool:
    """Whether this fit runs the network (sine networks go to torch)."""
    return cfg.activation in ("relu", "relu16")


class CpuNet:
    """A network as base + delta in float32 arrays (network.FloatNet's parameterisation)."""

    def __init__(self, cfg: NetConfig, base: list):
        self.cfg = cfg
        scale = 1.0 / (1 << WEIGHT_BITS)
        self.base = [(np.asarray(b, np.float64) * scale).astype(np.float32) for b in base]
        self.delta = [np.zeros_like(b) for b in self.base]
        self.quantised = {}         # QAT: tensor index -> e, its delta rounded to 2^-e in the forward pass

    def weights(self) -> list:
        out = []
        for i, (b, d) in enumerate(zip(self.base, self.delta)):
            if i in self.quantised:
                s = np.float32(2.0 ** self.quantised[i])
                d = np.round(d * s) / s
            out.append(b + d)
        return out

    def forward(self, x: np.ndarray, start: int, stop: int) -> np.ndarray:
        """The activations after layers start .. stop - 1 (hidden layers only), no gradient."""
        w = self.weights()
        for layer in range(start, stop):
            z = np.ascontiguousarray(x @ w[2 * layer].T)
            kernels.fit_activate(z, w[2 * layer + 1], self.cfg.narrow, np.empty(z.shape, np.uint8))
            x = z
        return x


def prepare(rows) -> dict:
    """walker.image_rows' rows as the fit reads them (network.rows_to_tensors' values, in
    numpy; the features stay integers until a step takes its rows)."""
    feats, anchor, shift, values, bits = rows
    f = lambda a: np.ascontiguousarray(a, np.float32)                      # noqa: E731
    return {"feats": feats, "anchor": f(anchor), "scale": f(np.exp2(shift.astype(np.float64))),
            "values": f(values), "top": f(np.exp2(bits.astype(np.float64)))}


def inputs(net: CpuNet, feats: np.ndarray) -> np.ndarray:
    """The first layer's input for rows of integer features: features / ACT_ONE, and for
    relu16 networks floored onto their grid in [-8, 8] (network.on_grid's values)."""
    x = feats.astype(np.float32)
    x *= np.float32(1.0 / ACT_ONE)      # |feature| < 2**24: exact, as rows_to_tensors says
    if net.cfg.narrow:
        np.clip(x, -8.0, 8.0, out=x)
        np.floor(x / NARROW_STEP, out=x)
        x *= NARROW_STEP
    return x


def train(net: CpuNet, data: dict, steps: int, *, trainable: list, lr: float = 1e-3, batch: int = 0,
          seed: int = 0, l1: float = 0.0, progress: bool = False, desc: str = "fit") -> float:
    """fitting.train's Adam on the code length for the tensors `trainable` (the others keep
    their delta); returns the last step's loss (bits per pixel, the L1 price included)."""
    idx = sorted(trainable)
    if not idx or steps <= 0:
        return float("nan")
    lowest = idx[0] // 2
    feats, x = data["feats"], None
    if lowest > 0 or not batch or batch >= len(feats):
        x = inputs(net, feats)          # every step reads every row: their input once
    if lowest > 0:                      # the layers below the fitted ones do not move
        x = net.forward(x, 0, lowest)
    head = [data[k] for k in ("anchor", "scale", "values", "top")]
    rng = np.random.default_rng(seed)
    n = len(feats)
    moments = {i: (np.zeros_like(net.delta[i]), np.zeros_like(net.delta[i])) for i in idx}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=desc, leave=False, unit="step", disable=None, mininterval=0.5)
    loss, work = float("nan"), ({}, {})
    pool = ThreadPoolExecutor(1) if threads.budget() > 1 else None
    try:
        for step in range(1, steps + 1):
            interrupt.check()
            if batch and batch < n:
                sel = rng.integers(0, n, batch)
                halves, m = (sel[:batch // 2], sel[batch // 2:]), batch
            else:
                halves, m = (slice(0, n // 2), slice(n // 2, n)), n

            def half(k):
                """The gradient of the batch's mean over half k's rows (their rows gathered here:
                the second half's on the other core too)."""
                rows = halves[k]
                first = inputs(net, feats[rows]) if x is None else x[rows]
                return gradients(net, first, [a[rows] for a in head], lowest, work[k], 1.0 / m)
            # the second half on another core (numpy's products and the kernels release the
            # GIL); the halves and their sum are the same on one thread, so the delta does not
            # depend on the thread budget
            later = pool.submit(half, 1) if pool is not None else None
            total, grads = half(0)
            total2, grads2 = later.result() if later is not None else half(1)
            total += total2
            for i in grads:
                grads[i] += grads2[i]
            if bar is not None or step == steps:       # the loss as fitting.train reports it
                loss = total / m + (l1 * sum(float(np.abs(net.delta[i]).sum()) for i in idx) if l1 else 0.0)
            for i in idx:
                kernels.fit_adam(net.delta[i], grads[i], *moments[i], lr, BETAS, EPS, step, l1)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(bpp=f"{loss:.3f}")
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    return loss


def gradients(net: CpuNet, x: np.ndarray, head: list, lowest: int = 0, work: dict = None,
              per_row: float = None) -> tuple:
    """The summed code length in bits of the rows x (the input of layer `lowest`; head: their
    anchor, scale, values, top) and the gradient of per_row times that sum (default: of its
    mean) in every tensor of the layers from `lowest` up, as {index: float32 array}. work:
    buffers kept from step to step."""
    work = {} if work is None else work

    def buffer(name, shape, dtype=np.float32):
        a = work.get(name)
        if a is None or a.shape != shape:
            a = work[name] = np.empty(shape, dtype)
        return a
    w = net.weights()
    layers = len(w) // 2
    acts, passed = [x], []
    for layer in range(lowest, layers):
        z = buffer(("z", layer), (len(x), w[2 * layer].shape[0]))
        np.matmul(acts[-1], w[2 * layer].T, out=z)
        if layer < layers - 1:
            p = buffer(("pass", layer), z.shape, np.uint8)
            kernels.fit_activate(z, w[2 * layer + 1], net.cfg.narrow, p)
            acts.append(z)
            passed.append(p)
    g = buffer("g_out", z.shape)
    g_bias = np.empty(z.shape[1], np.float32)
    total = kernels.fit_head(z, w[-1], net.cfg.channels, *head, 1.0 / len(z) if per_row is None else per_row,
                             g, g_bias)
    grads = {}
    for layer in range(layers - 1, lowest - 1, -1):
        grads[2 * layer] = g.T @ acts[layer - lowest]
        grads[2 * layer + 1] = g_bias
        if layer > lowest:
            g_in = buffer(("g", layer), acts[layer - lowest].shape)
            np.matmul(g, w[2 * layer], out=g_in)
            g = g_in
            g_bias = np.empty(g.shape[1], np.float32)
            kernels.fit_pass(g, passed[layer - lowest - 1], g_bias)
    return total, grads


class CpuFitter:
    """What Encoder._fit asks of a fit (fitting.TorchFitter is torch's): a network to fit,
    its steps, QAT's rounding, and the fitted delta."""

    def __init__(self, rows):
        self.data = prepare(rows)
        self.rows = len(self.data["feats"])

    def net(self, cfg: NetConfig, base: list) -> CpuNet:
        return CpuNet(cfg, base)

    def train(self, net: CpuNet, steps: int, *, until_ber0: bool = False, **options) -> float:
        if until_ber0:
            raise ValueError("the CPU fit does not stop on bit errors: ber0 fits with torch")
        return train(net, self.data, steps, **options)

    def quantise(self, net: CpuNet, exps) -> None:
        """Round the deltas of the tensors in exps to 2^-e in the forward pass (QAT); None: no more."""
        net.quantised = dict(exps or {})

    def delta(self, net: CpuNet, i: int) -> np.ndarray:
        return net.delta[i].astype(np.float64)
