"""Fitting the float network (torch): the encoder's delta and prior training.

The training rows are the exact decoder features (walker.image_rows), and
the loss is the code length of the values under the head's discretised
logistic (network.nll_bits), so fitting optimises what the coder pays for.
"""
from __future__ import annotations

import contextlib
from typing import Optional

import torch

from . import interrupt
from .errors import LinrError
from .network import FloatNet, bit_errors, nll_bits


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
    pick = (lambda t: t) if sel is None else (lambda t: t[sel])
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
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
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
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        loss_val = float(loss.detach())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(bpp=f"{loss_val:.3f}")
    if bar is not None:
        bar.close()
    return loss_val
