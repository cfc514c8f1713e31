"""Fitting the float network to bits with binary cross-entropy (torch).

Training data are the exact integer features the decoder will see
(bitplanes.all_features), so fitting optimises what the coder pays for.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from .bitplanes import Schedule, all_features
from .network import FloatNet, NetConfig


def bit_dataset(image: np.ndarray, bits: int, sched: Schedule, cfg: NetConfig):
    """All (features, target bits) of one image as two int arrays."""
    feats, targets = [], []
    for _plane, _t, f, b in all_features(image, bits, sched, cfg.context, cfg.relative):
        feats.append(f)
        targets.append(b)
    return np.concatenate(feats), np.concatenate(targets)


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        from .errors import LinrError
        raise LinrError("--device cuda asked for, but CUDA is not available")
    return torch.device(device)


def train(net: FloatNet, x: torch.Tensor, y: torch.Tensor, steps: int, *,
          trainable: Optional[list] = None, lr: float = 1e-3, batch: int = 0,
          seed: int = 0,
          callback: Optional[Callable[[int, float], bool]] = None) -> float:
    """Adam on BCE (in bits per bit). Returns the last loss.

    trainable: indices of the delta tensors to fit (others stay at zero).
    batch:     minibatch size, 0 for full batch.
    callback:  called every step with (step, loss); returning True stops.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    idx = range(len(net.delta)) if trainable is None else trainable
    params = [net.delta[i] for i in idx]
    for i, p in enumerate(net.delta):
        p.requires_grad_(i in set(idx))
    if not params:
        return float("nan")
    opt = torch.optim.Adam(params, lr=lr)
    loss_val = float("nan")
    n = x.shape[0]
    for step in range(steps):
        if batch and batch < n:
            sel = torch.randint(0, n, (batch,), generator=gen).to(x.device)
            xb, yb = x[sel], y[sel]
        else:
            xb, yb = x, y
        logits = net(xb)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yb) / math.log(2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_val = float(loss.detach())
        if callback is not None and callback(step, loss_val):
            break
    return loss_val
