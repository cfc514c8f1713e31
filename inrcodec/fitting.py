"""Fitting the float network (torch): prior training, and the encoder's delta where the CPU
fit (cpu_fit.py) does not run (ber0, CUDA, sine networks).

The training rows are the exact decoder features (walker.image_rows), and
the loss is the code length of the values under the head's discretised
logistic (network.nll_bits), so fitting optimises what the coder pays for.
"""
from __future__ import annotations

import contextlib
import math
from typing import Optional

import numpy as np
import torch

from . import interrupt
from .errors import LinrError
from .network import FloatNet, bit_errors, nll_bits


class Adam:
    """torch.optim.Adam's arithmetic on the CPU (its single-tensor path, no weight
    decay), operation for operation, so fits give the same weights. torch's own
    class imports torch._dynamo on its first use: 2.5 s of a command-line fit."""

    def __init__(self, params: list, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.steps = [torch.tensor(0.0) for _ in params]     # float32, as torch keeps them

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for p, m, v, step_t in zip(self.params, self.exp_avg, self.exp_avg_sq, self.steps):
            if p.grad is None:
                continue
            grad = p.grad
            step_t += 1
            m.lerp_(grad, 1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = step_t.item()
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = self.lr / bias_correction1
            denom = (v.sqrt() / bias_correction2 ** 0.5).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


@contextlib.contextmanager
def torch_state(seed: int, threads: int):
    """torch seeded and limited to `threads` for a fit; the caller's random
    state and thread count come back afterwards."""
    old_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(old_threads)


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise LinrError("--device cuda asked for, but CUDA is not available")
    return torch.device(device)


def _bit_errors(net: FloatNet, data: dict) -> int:
    with torch.no_grad():
        out = net(data["x"])
    return bit_errors(out, data["anchor"], data["scale"], data["values"], data["top"])


def batch_loss(net: FloatNet, data: dict, sel=None) -> torch.Tensor:
    """Mean code length (bits per pixel) of the rows `sel` (all if None)."""
    pick = (lambda t: t) if sel is None else (lambda t: t.index_select(0, sel))   # t[sel], faster
    if "hidden" in data:                  # only the last layer is being fitted
        out = net(pick(data["hidden"]), start=len(net.delta) // 2 - 1)
    else:
        out = net(pick(data["x"]))
    return nll_bits(out, pick(data["anchor"]), pick(data["scale"]), pick(data["values"]),
                    pick(data["top"])).mean()


def train(net: FloatNet, data: dict, steps: int, *, trainable: Optional[list] = None,
          lr: float = 1e-3, batch: int = 0, seed: int = 0, progress: bool = False,
          desc: str = "fit", cosine: bool = False, until_ber0: bool = False, l1: float = 0.0) -> float:
    """Adam on the code length; returns the last loss (bits per pixel).

    trainable: indices of the delta tensors to fit (the others stay zero);
    batch: minibatch rows (0: full batch); cosine: decay the rate to zero;
    until_ber0: stop early once no bit-plane decision is wrong (checked every 25 steps);
    l1: added to the loss per unit of |delta| (the price of the delta's bytes, per pixel).
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    idx = list(range(len(net.delta))) if trainable is None else list(trainable)
    for i, p in enumerate(net.delta):
        p.requires_grad_(i in idx)
    params = [net.delta[i] for i in idx]
    if not params or steps <= 0:
        return float("nan")
    data = dict(data)
    data.pop("hidden", None)
    if set(idx) <= {len(net.delta) - 2, len(net.delta) - 1}:
        data["hidden"] = net.hidden(data["x"])
    opt = Adam(params, lr=lr)
    n = data["x"].shape[0]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc=desc, leave=False, unit="step", disable=None, mininterval=0.5)
    loss_val = float("nan")
    for step in range(steps):
        interrupt.check()                        # Ctrl-C between torch calls only
        if until_ber0 and step % 25 == 0 and _bit_errors(net, data) == 0:
            break
        sel = torch.randint(0, n, (batch,), generator=gen).to(data["x"].device) if batch and batch < n else None
        loss = batch_loss(net, data, sel)
        if l1:
            loss = loss + l1 * sum(p.abs().sum() for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cosine:                                # CosineAnnealingLR's rate, in closed form
            opt.lr = lr * (1 + math.cos(math.pi * (step + 1) / steps)) / 2
        loss_val = float(loss.detach())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(bpp=f"{loss_val:.3f}")
    if bar is not None:
        bar.close()
    return loss_val


class TorchFitter:
    """What Encoder._fit asks of a fit, with torch (cpu_fit.CpuFitter is the CPU's)."""

    def __init__(self, rows, device):
        from .network import rows_to_tensors
        self.data = rows_to_tensors(rows, device)
        self.rows = self.data["x"].shape[0]
        self.device = device

    def net(self, cfg, base: list):
        return FloatNet(cfg, base, grid_weights=False).to(self.device)

    def train(self, net: FloatNet, steps: int, **options) -> float:
        return train(net, self.data, steps, **options)

    def quantise(self, net: FloatNet, exps) -> None:
        """QAT: the deltas of the tensors in exps rounded to 2^-e in the forward pass, the
        gradient passed straight through; None: no more."""
        if not exps:
            net.quantizer = None
            return

        def fake_quant(i, d):
            if i not in exps:
                return d
            s = 2.0 ** exps[i]
            return d + (torch.round(d * s) / s - d).detach()
        net.quantizer = fake_quant

    def delta(self, net: FloatNet, i: int) -> np.ndarray:
        return net.delta[i].detach().cpu().double().numpy()
