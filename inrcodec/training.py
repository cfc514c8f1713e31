"""Training a prior: the network's starting point for a domain of images.

    data = inrcodec.train_prior(images, name="mri")    # -> .linrp bytes
    inrcodec.encode(image, prior=data)

Plain pre-training: Adam on the code length of every pixel of the training
images under the exact decoder's features (walker.image_rows), starting
from the seeded initialisation. Each image is modelled at its own bit
depth, as the encoder will code it. Uses torch.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from . import priors, validate
from . import threads as thread_budget
from .errors import ImageError, LinrError
from .exact import WEIGHT_LIMIT
from .model import NetConfig, seeded_init
from .tables import WEIGHT_BITS
from .walker import image_rows

# 64 x 3 for 8000 steps: on held-out depth-map tiles (scripts/depth_tiles.py) 5.69 bpp at
# effort 0, against 6.40 for 32 x 2 / 3000 steps, 5.84 for 48 x 3 / 6000 and 5.66 for
# 96 x 3 / 8000 (1.5x the training time, 2x the decoding work); about 100 s on this machine.
DEFAULTS = dict(hidden=64, layers=3, activation="relu", steps=8000, batch=8192, lr=3e-3,
                max_rows=1 << 20)


def as_image3(image) -> np.ndarray:
    image = validate.as_image(image)
    return (image[:, :, None] if image.ndim == 2 else image).astype(np.int64)


def integer_weights(floats: list) -> tuple:
    """Trained float weights (real units) as integers, rounded as FloatNet.integer_weights
    does, and clipped to |w| <= WEIGHT_LIMIT - 1 so the exact decoder runs them; returns
    (weights, how many were clipped). Non-finite weights (training diverged) are refused."""
    top = WEIGHT_LIMIT - 1
    out, clipped = [], 0
    for w in floats:
        w = np.round(np.asarray(w, np.float64) * (1 << WEIGHT_BITS))
        if not np.isfinite(w).all():
            raise LinrError("training diverged (a weight is not finite): lower lr")
        clipped += int((np.abs(w) > top).sum())
        out.append(np.clip(w, -top, top).astype(np.int64))   # clip before the cast: no overflow
    return out, clipped


def collect_rows(images: list, max_rows: int, seed: int = 0):
    """Training rows of many images: an equal share of pixels from each."""
    rng = np.random.default_rng(seed)
    share = max(1, max_rows // max(1, len(images)))
    parts = []
    for img in images:
        bits = max(1, int(img.max()).bit_length())
        keep = min(1.0, share / (img.shape[0] * img.shape[1]))
        parts.append(image_rows(img, bits, keep, rng))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(5))


def train_prior(images, /, *, name: str = "custom", hidden: int = DEFAULTS["hidden"],
                layers: int = DEFAULTS["layers"], activation: str = DEFAULTS["activation"],
                steps: int = DEFAULTS["steps"], batch: int = DEFAULTS["batch"],
                lr: float = DEFAULTS["lr"], max_rows: int = DEFAULTS["max_rows"], seed: int = 0,
                threads: int | None = None, device: str = "auto", progress: bool = False,
                meta: dict | None = None, start=None) -> bytes:
    """Train a prior on `images` (uint8/uint16 arrays, all with the same channel
    count); returns the bytes of a .linrp file (save it, or pass it as prior=).

    start: None (the seeded initialisation, with hidden/layers/activation), a
    prior (built-in name, .linrp bytes or path) to fine-tune, or "auto": the
    built-in prior for this channel count whose code length on the training
    pixels is smallest (its architecture replaces hidden/layers/activation)."""
    try:
        import torch
    except ImportError:
        raise LinrError("training a prior needs torch: pip install 'linr[fit]'") from None

    from .fitting import pick_device, torch_state, train
    from .network import FloatNet, rows_to_tensors
    imgs = [as_image3(im) for im in images]
    if not imgs:
        raise ImageError("train_prior needs at least one image")
    channels = {im.shape[2] for im in imgs}
    if len(channels) != 1:
        raise ImageError("all training images must have the same number of channels")
    try:
        cfg = NetConfig(channels=channels.pop(), hidden=hidden, layers=layers, activation=activation)
    except (ValueError, TypeError) as exc:
        raise LinrError(str(exc)) from None
    t0 = time.perf_counter()
    rows = collect_rows(imgs, max_rows, seed)
    dev = pick_device(device)
    data = rows_to_tensors(rows, dev)
    base, origin, before = seeded_init(cfg, seed), "seeded", 0
    if start is not None:
        from .fitting import batch_loss
        if isinstance(start, str) and start == "auto":
            found = [p for p in priors.available() if p.cfg.channels == cfg.channels]
        else:
            found = [priors.load(start)]
            if found[0].cfg.channels != cfg.channels:
                raise LinrError(f"prior '{found[0].name}' is for {found[0].cfg.channels}-channel images")
        if found:
            sel = torch.arange(0, data["x"].shape[0], max(1, data["x"].shape[0] // 20000))
            with torch.no_grad():
                costs = [float(batch_loss(FloatNet(p.cfg, list(p.weights)).to(dev), data, sel)) for p in found]
            best = found[int(np.argmin(costs))]
            cfg, base, origin = best.cfg, list(best.weights), f"fine-tuned from {best.name}"
            before = best.meta.get("samples", best.meta.get("steps", 0) * best.meta.get("batch", 0))
            if activation == "relu16" and cfg.activation == "relu":    # onto the 16-bit grid
                cfg, origin = dataclasses.replace(cfg, activation="relu16"), origin + " onto relu16's grid"
            lr = min(lr, 1e-3)
    # one torch thread unless the caller chose more (threads=, --threads, LINR_THREADS):
    # 20 16-bit tiles took 94 s with two threads and 99 s with one on an idle 2-core
    # machine, but 678 s with two beside two busy processes (OpenMP threads waiting
    # for each other lose their cores); torch_state restores the count afterwards
    with torch_state(seed, threads or thread_budget.chosen() or 1):
        net = FloatNet(cfg, base).to(dev)
        loss = train(net, data, steps, lr=lr, batch=batch, seed=seed, progress=progress,
                     desc=f"train {name}", cosine=True)
        with torch.no_grad():
            weights, clipped = integer_weights([w.cpu().double().numpy() for w in net.weights()])
    info = {"images": len(imgs), "rows": int(len(rows[0])), "steps": steps, "batch": batch, "lr": lr,
            "seed": seed, "train_bpp_float": round(loss, 4),
            "bits": sorted({int(b) for b in np.unique(rows[4])}),
            "seconds": round(time.perf_counter() - t0, 1), "start": origin,
            "samples": before + steps * batch, **(meta or {})}     # rows seen, the start's included
    if clipped:
        info["clipped_weights"] = clipped
    return priors.pack(name, cfg, weights, info)
