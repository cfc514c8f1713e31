"""Retrain a shipped prior (theta_0) from training data only.

    python scripts/train_prior.py mnist        # MNIST train split
    python scripts/train_prior.py fashion      # Fashion-MNIST train split
    python scripts/train_prior.py photo        # scikit-image's bundled photos (RGB)
    python scripts/train_prior.py photo-gray   # the same photos and gray ones, as gray
    python scripts/train_prior.py photo16      # the full-size 16-bit photos in shared/data/img16

Method: plain pre-training (Adam on the bits' cross-entropy over many images'
exact decoder features), which measured better than starting each image from
scratch; the per-image delta is then fitted by the encoder. Never Kodak or
the 64x64 16-bit crops: those are test sets.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inrcodec import bitplanes, fitting, network, priors  # noqa: E402
from inrcodec.tables import WEIGHT_BITS  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def skimage_photos(gray: bool) -> list:
    import skimage
    d = Path(skimage.__file__).parent / "data"
    rgb = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png",
           "motorcycle_right.png", "ihc.png", "rocket.jpg", "retina.jpg", "color.png"]
    grays = ["camera.png", "coins.png", "moon.png", "page.png", "brick.png",
             "grass.png", "gravel.png", "text.png", "clock_motion.png", "horse.png"]
    out = []
    for name in rgb + (grays if gray else []):
        a = cv2.imread(str(d / name), cv2.IMREAD_UNCHANGED)
        if a is None:
            continue
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[:, :, :3]
        if gray and a.ndim == 3:
            a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
        if not gray and a.ndim == 2:
            continue
        out.append(a if a.ndim == 3 else a[:, :, None])
    return out


def random_crops(images: list, count: int, size: int, rng) -> list:
    out = []
    for _ in range(count):
        a = images[rng.integers(len(images))]
        y = rng.integers(0, max(1, a.shape[0] - size + 1))
        x = rng.integers(0, max(1, a.shape[1] - size + 1))
        out.append(a[y:y + size, x:x + size])
    return out


def training_images(name: str, count: int, rng) -> tuple:
    """(list of H x W x C arrays, bit depth)."""
    sys.path.insert(0, str(ROOT))
    from bench.datasets import read_idx
    if name in ("mnist", "fashion"):
        path = (DATA / "mnist" / "train-images-idx3-ubyte.gz" if name == "mnist" else
                Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        imgs = read_idx(path)
        sel = rng.choice(len(imgs), count, replace=False)
        return [imgs[i][:, :, None] for i in sel], 8
    if name in ("photo", "photo-gray"):
        return random_crops(skimage_photos(name == "photo-gray"), count, 32, rng), 8
    if name == "photo16":
        srcs = [cv2.imread(str(DATA / "img16" / f), cv2.IMREAD_UNCHANGED)
                for f in ("weld_16bit.png", "hdr_room.png")]
        return random_crops(srcs, count, 32, rng), 16
    raise SystemExit(f"unknown prior {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=list(priors.NAMES))
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--activation", default="sine")
    ap.add_argument("--w0", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.time()
    images, bits = training_images(args.name, args.images, rng)
    channels = images[0].shape[2]
    cfg = network.NetConfig(channels=channels, hidden=args.hidden, layers=args.layers,
                            activation=args.activation)
    xs, ys = [], []
    for img in images:
        sched = bitplanes.make_schedule(img.shape[0], img.shape[1], cfg.context)
        f, b = fitting.bit_dataset(img, bits, sched, cfg)
        xs.append(f)
        ys.append(b)
    x = network.features_to_float(np.concatenate(xs))
    y = torch.from_numpy(np.concatenate(ys).astype(np.float32))
    print(f"{len(images)} images, {x.shape[0]} bits in {time.time() - t0:.0f}s", flush=True)
    net = network.FloatNet(cfg, network.seeded_init(cfg, 0, w0=args.w0))
    opt_steps = args.steps

    def report(step: int, loss: float) -> bool:
        if step % 500 == 0 or step == opt_steps - 1:
            print(f"step {step} loss {loss:.4f} bits/bit  {time.time() - t0:.0f}s", flush=True)
        return False

    fitting.train(net, x, y, opt_steps, lr=args.lr, batch=args.batch, callback=report)
    fitting.train(net, x, y, opt_steps // 4, lr=args.lr / 10, batch=args.batch, callback=report)
    weights = [np.round(w.detach().double().numpy() * (1 << WEIGHT_BITS)).astype(np.int64)
               for w in net.weights()]
    out = args.out or priors.PRIOR_DIR / f"{args.name}.npz"
    meta = {"images": len(images), "bits": bits, "steps": opt_steps, "seconds": round(time.time() - t0),
            "method": "pre-training on the training split", "command": " ".join(sys.argv)}
    priors.save(out, cfg, weights, meta)
    print(f"wrote {out} ({out.stat().st_size} bytes) in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
