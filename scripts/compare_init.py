"""Measure the choice of meta-learning method for a prior: the shipped prior
(plain pre-training) against Reptile started from it, by the encoder's own
cost (zero delta or a fitted last-layer delta, whichever is smaller) on
held-out images of the *training* split (never the test split).

    python scripts/compare_init.py mnist --meta-steps 300 --val 40

Reptile here adapts what the encoder adapts per image (the last layer):
inner loop = the encoder's fit, outer step theta += eps * (phi - theta).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inrcodec import codec, fitting, network, priors  # noqa: E402
from inrcodec.tables import WEIGHT_BITS  # noqa: E402


def train_images(name: str):
    from inrcodec.bench.datasets import read_idx
    path = (ROOT.parent / "shared" / "data" / "mnist" / "train-images-idx3-ubyte.gz" if name == "mnist"
            else Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    return read_idx(path)


def encoder_bits(img: np.ndarray, prior: priors.Prior, weights: list, effort: int) -> float:
    """Payload bits of the encoder's best plan for this start (zero or last-layer delta)."""
    enc = codec._Encoder(img, effort, "auto", "smallest", 0, "cpu", {}, False)
    header = codec.Header(enc.info, prior.cfg, prior.pid, prior.tag)
    n = len(weights)
    plans = [enc.zero_plan(header, weights, "zero"),
             enc.fit(header, weights, [n - 2, n - 1], "last")]
    return min(p.bits for p in plans)


def reptile(prior: priors.Prior, images, steps: int, inner: int, eps: float, seed: int) -> list:
    cfg = prior.cfg
    rng = np.random.default_rng(seed)
    theta = [w.astype(np.float64) / (1 << WEIGHT_BITS) for w in prior.weights]
    last = [len(theta) - 2, len(theta) - 1]
    for step in range(steps):
        img = images[rng.integers(len(images))][:, :, None]
        sched = codec.make_schedule(28, 28, cfg.context)
        feats, targets = fitting.bit_dataset(img, 8, sched, cfg)
        base = [np.round(t * (1 << WEIGHT_BITS)).astype(np.int64) for t in theta]
        net = network.FloatNet(cfg, base)
        x = network.features_to_float(feats)
        y = torch.from_numpy(targets.astype(np.float32))
        fitting.train(net, x, y, inner, trainable=last, lr=1e-3, seed=step)
        for i in last:   # outer step towards the adapted weights
            theta[i] += eps * net.delta[i].detach().double().numpy()
    return [np.round(t * (1 << WEIGHT_BITS)).astype(np.int64) for t in theta]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=["mnist", "fashion"])
    ap.add_argument("--meta-steps", type=int, default=300)
    ap.add_argument("--inner", type=int, default=120)
    ap.add_argument("--eps", type=float, default=0.5)
    ap.add_argument("--val", type=int, default=40)
    ap.add_argument("--effort", type=int, default=codec.DEFAULT_EFFORT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    prior = priors.load(priors.NAMES[args.name])
    images = train_images(args.name)
    meta_pool, val = images[:50000], images[-args.val:]     # held out: the last train images
    meta = reptile(prior, meta_pool, args.meta_steps, args.inner, args.eps, seed=1)
    print(f"reptile: {args.meta_steps} meta-steps in {time.time() - t0:.0f}s", flush=True)
    pixels = 28 * 28
    for label, weights in (("pre-training (shipped)", list(prior.weights)), ("reptile", meta)):
        bits = [encoder_bits(img, prior, weights, args.effort) for img in val]
        print(f"{label:24s} {np.mean(bits) / pixels:.4f} bpp payload (mean of {len(val)} held-out "
              f"train images, encoder effort {args.effort})", flush=True)


if __name__ == "__main__":
    main()
