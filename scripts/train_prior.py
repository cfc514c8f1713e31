"""Retrain a shipped prior (theta_0) from training data only.

    python scripts/train_prior.py mnist        # MNIST train split
    python scripts/train_prior.py fashion      # Fashion-MNIST train split
    python scripts/train_prior.py photo        # 8-bit colour photos (B, G, R)
    python scripts/train_prior.py photo-gray   # the same photos and gray ones, as gray
    python scripts/train_prior.py photo16      # real and synthesised 16-bit colour photos

Each command reproduces the shipped prior (the defaults per prior are in
DEFAULTS; `--threads 1` is how they were trained). The photo priors need

    apt-get install -y mate-backgrounds        # photographic wallpapers (JPEG)
    pip install scikit-image matplotlib        # bundled photos, grace_hopper.jpg

Data (photo*): scikit-image's natural photos, matplotlib's grace_hopper.jpg
and the photographs of Debian's mate-backgrounds (nature/*.jpg; JPEGs are
area-downsampled 2-5x so their artefacts do not dominate). photo16 adds
crops of ../shared/data/img16/weld_16bit.png and 16-bit images synthesised
from the 8-bit photos: area-downsampled in float, optionally linearised
(gamma 2.2), scaled by a random gain so they use 9 to 16 bits, plus a little
sensor-like noise.

Validation: a held-out split of *different source images* (VALIDATION below;
for photo16 also the real hdr_room.png) is never trained on; `--val` (on by
default) reports its mean cost in bits per pixel, exact integer network, for
the new prior and for the installed one. Settings were picked on it.

Training matches the encoder exactly: every image is coded with its own bit
depth (max().bit_length()), from the exact decoder features, and planes that
are constant in a channel are left out as the encoder flags them. Method:
plain pre-training (Adam on the bits' cross-entropy), then the encoder fits
the per-image delta. Never Kodak or the 64x64 16-bit crops: those are test sets.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inrcodec import bitplanes, codec, exact, network, priors  # noqa: E402
from inrcodec.tables import WEIGHT_BITS  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MATE = Path("/usr/share/backgrounds/mate/nature")

# training / validation photos, by source image (never both)
SKIMAGE_RGB = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png",
               "motorcycle_right.png", "rocket.jpg"]
SKIMAGE_GRAY = ["camera.png", "coins.png", "moon.png", "brick.png", "grass.png",
                "gravel.png", "clock_motion.png"]
MATE_TRAIN = ["Aqua.jpg", "Blinds.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
              "RainDrops.jpg", "TwoWings.jpg", "YellowFlower.jpg"]
VALIDATION = ["Dune.jpg", "LadyBird.jpg", "Storm.jpg", "Wood.jpg"]       # mate-backgrounds
REAL16_TRAIN = ["weld_16bit.png"]
REAL16_VAL = ["hdr_room.png"]

# per prior: architecture and training settings of the shipped file
DEFAULTS = {
    "mnist": dict(images=600, crop=0, hidden=32, layers=2, activation="sine", w0=1.0,
                  steps=4000, lr=3e-3),
    "fashion": dict(images=600, crop=0, hidden=32, layers=2, activation="sine", w0=1.0,
                    steps=4000, lr=3e-3),
    "photo": dict(images=300, crop=64, hidden=48, layers=3, activation="sine", w0=1.0,
                  steps=4000, lr=3e-3),
    "photo-gray": dict(images=600, crop=64, hidden=48, layers=3, activation="sine", w0=1.0,
                       steps=4000, lr=3e-3),
    "photo16": dict(images=160, crop=64, hidden=48, layers=3, activation="sine", w0=1.0,
                    steps=4000, lr=3e-3),
}


# -- sources ---------------------------------------------------------------

def _read(path: Path) -> np.ndarray:
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise SystemExit(f"cannot read {path} (see the docstring for what to install)")
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    return a


def _downsample(a: np.ndarray, short: int = 480) -> np.ndarray:
    """Area-downsample a JPEG by an integer factor >= 2 (short side ~`short`), float."""
    f = max(2, int(round(min(a.shape[:2]) / short)))
    return cv2.resize(a.astype(np.float32), (a.shape[1] // f, a.shape[0] // f),
                      interpolation=cv2.INTER_AREA)


def photos(split: str) -> list:
    """Float32 H x W x 3 BGR photos in [0, 255] (not rounded: photo16 uses the precision)."""
    import matplotlib
    import skimage
    out = []
    if split == "train":
        d = Path(skimage.__file__).parent / "data"
        for name in SKIMAGE_RGB:
            a = _read(d / name)
            out.append(_downsample(a, 213) if name.endswith(".jpg") else a.astype(np.float32))
        out.append(_downsample(_read(Path(matplotlib.get_data_path()) / "sample_data" /
                                     "grace_hopper.jpg"), 256))
        names = MATE_TRAIN
    else:
        names = VALIDATION
    out += [_downsample(_read(MATE / n)) for n in names]
    return out


def gray_photos(split: str) -> list:
    out = [cv2.cvtColor(a, cv2.COLOR_BGR2GRAY) for a in photos(split)]
    if split == "train":
        import skimage
        d = Path(skimage.__file__).parent / "data"
        out += [_read(d / n).astype(np.float32) for n in SKIMAGE_GRAY]
    return out


def to8(a: np.ndarray) -> np.ndarray:
    a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return a if a.ndim == 3 else a[:, :, None]


def synth16(a: np.ndarray, rng) -> np.ndarray:
    """A 16-bit-container image from a float 8-bit photo: 9..16 used bits,
    linear light (gamma 2.2) two times in three, random exposure, mild noise."""
    x = a.astype(np.float64) / 255.0
    if rng.random() < 2 / 3:
        x = x ** 2.2
    used = int(rng.integers(9, 17))
    peak = max(x.max(), 1e-3)
    v = x / peak * rng.uniform(0.5, 1.0) * ((1 << used) - 1)
    sigma = rng.uniform(0.0, 1.5) * max(1.0, 2.0 ** (used - 12))
    v = v + rng.normal(0, 1, v.shape) * np.sqrt(sigma ** 2 + 0.02 * sigma * v)
    return np.clip(np.round(v), 0, 65535).astype(np.uint16)


def random_crops(images: list, count: int, size: int, rng, convert=to8) -> list:
    out = []
    for _ in range(count):
        a = images[rng.integers(len(images))]
        y = rng.integers(0, max(1, a.shape[0] - size + 1))
        x = rng.integers(0, max(1, a.shape[1] - size + 1))
        c = a[y:y + size, x:x + size]
        if rng.random() < 0.5:
            c = c[:, ::-1]
        out.append(np.ascontiguousarray(convert(c)))
    return out


def image_set(name: str, split: str, count: int, crop: int, rng) -> list:
    """H x W x C uint8/uint16 arrays of one split."""
    if name in ("mnist", "fashion"):
        from inrcodec.bench.datasets import read_idx
        path = (DATA / "mnist" / "train-images-idx3-ubyte.gz" if name == "mnist" else
                Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        imgs = read_idx(path)
        sel = rng.choice(len(imgs), count, replace=False)
        return [imgs[i][:, :, None] for i in sel]
    if name == "photo":
        return random_crops(photos(split), count, crop, rng)
    if name == "photo-gray":
        return random_crops(gray_photos(split), count, crop, rng)
    if name == "photo16":
        real = [_read(DATA / "img16" / f) for f in (REAL16_TRAIN if split == "train" else REAL16_VAL)]
        n_real = count // 4 if split == "train" else count // 3
        out = random_crops(real, n_real, crop, rng, convert=lambda c: c)
        out += random_crops(photos(split), count - n_real, crop, rng,
                            convert=lambda c: synth16(c, rng))
        return out
    raise SystemExit(f"unknown prior {name}")


# -- the encoder's view of an image ---------------------------------------------

def bit_rows(img: np.ndarray, context: bool = True, relative: bool = False):
    """(features int32 N x F, target bits N x C, coded N x C) exactly as the encoder
    sees them: the image's own bit depth, constant (plane, channel)s not coded."""
    bits = max(1, int(img.max()).bit_length())
    const = codec.constant_planes(img.astype(np.int64), bits)
    sched = bitplanes.make_schedule(img.shape[0], img.shape[1], context)
    fs, ts, cs = [], [], []
    for plane, _t, f, b in bitplanes.all_features(img, bits, sched, context, relative):
        fs.append(f.astype(np.int32))
        ts.append(b.astype(np.uint8))
        cs.append(np.broadcast_to(const[plane] < 0, b.shape))
    return np.concatenate(fs), np.concatenate(ts), np.concatenate(cs)


def build(images: list, context: bool = True, relative: bool = False):
    """Float features, targets and coding mask of many images (float32 tensors)."""
    xs, ys, ms = [], [], []
    for img in images:
        f, b, c = bit_rows(img, context, relative)
        keep = c.any(axis=1)
        xs.append(network.features_to_float(f[keep]))
        ys.append(torch.from_numpy(b[keep].astype(np.float32)))
        ms.append(torch.from_numpy(c[keep].astype(np.float32)))
    return torch.cat(xs), torch.cat(ys), torch.cat(ms)


def val_rows(images: list, context: bool = True, relative: bool = False) -> list:
    return [bit_rows(img, context, relative) + (img.shape[0] * img.shape[1],) for img in images]


def val_bpp(cfg, weights, rows: list) -> float:
    """Mean bits per pixel (ideal code length of the coded bits, exact network)."""
    total, pixels = 0.0, 0
    for f, b, c, npx in rows:
        p = exact.probabilities(cfg, list(weights), f)
        total += exact.bits_cost(p[c], b[c])
        pixels += npx
    return total / pixels


# -- training ---------------------------------------------------------------------

def train(cfg, x, y, m, *, steps: int, lr: float, batch: int, w0: float, seed: int = 0,
          log=print) -> list:
    """Adam on the masked BCE (bits/bit); steps at lr, then steps/4 at lr/10."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = network.FloatNet(cfg, network.seeded_init(cfg, seed, w0=w0))
    params = list(net.delta)
    t0 = time.time()
    n = x.shape[0]
    for phase_steps, phase_lr in ((steps, lr), (steps // 4, lr / 10)):
        opt = torch.optim.Adam(params, lr=phase_lr)
        run = 0.0
        for step in range(phase_steps):
            sel = torch.randint(0, n, (batch,), generator=gen)
            mb = m[sel]
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(
                net(x[sel]), y[sel], weight=mb, reduction="sum") / mb.sum() / math.log(2))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run = 0.98 * run + 0.02 * float(loss.detach()) if step else float(loss.detach())
            if step % 1000 == 0 or step == phase_steps - 1:
                log(f"  lr {phase_lr:g} step {step} loss {run:.4f} bits/bit  {time.time() - t0:.0f}s")
    return [np.round(w.detach().double().numpy() * (1 << WEIGHT_BITS)).astype(np.int64)
            for w in net.weights()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=list(priors.NAMES))
    ap.add_argument("--images", type=int, default=None, help="training crops/images")
    ap.add_argument("--crop", type=int, default=None, help="training crop side")
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--activation", default=None, choices=network.ACTIVATIONS)
    ap.add_argument("--w0", type=float, default=None)
    ap.add_argument("--relative", dest="relative", action="store_true", default=True,
                    help="relative-position context features (NetConfig.relative; the default)")
    ap.add_argument("--no-relative", dest="relative", action="store_false",
                    help="the earlier features only, for comparison")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--val-crops", type=int, default=None, help="validation crops (photo*)")
    ap.add_argument("--no-val", action="store_true", help="skip the validation report")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    opts = dict(DEFAULTS[args.name])
    for k in opts:
        if getattr(args, k) is not None:
            opts[k] = getattr(args, k)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    t0 = time.time()
    images = image_set(args.name, "train", opts["images"], opts["crop"], rng)
    channels = images[0].shape[2]
    cfg = network.NetConfig(channels=channels, hidden=opts["hidden"], layers=opts["layers"],
                            activation=opts["activation"], relative=args.relative)
    relative = cfg.relative
    x, y, m = build(images, cfg.context, relative)
    print(f"{len(images)} images, {x.shape[0]} rows, {int(m.sum())} coded bits in "
          f"{time.time() - t0:.0f}s; {cfg}", flush=True)
    weights = train(cfg, x, y, m, steps=opts["steps"], lr=opts["lr"], batch=args.batch,
                    w0=opts["w0"], log=lambda s: print(s, flush=True))
    seconds = round(time.time() - t0)
    out = args.out or priors.PRIOR_DIR / f"{args.name}.npz"
    meta = {"images": len(images), "steps": opts["steps"], "seconds": seconds,
            "settings": opts, "method": "pre-training on the training split",
            "command": " ".join(["scripts/train_prior.py"] + [a for i, a in enumerate(sys.argv[1:])
                                                               if "--out" not in sys.argv[i:i + 2]])}
    if not args.no_val and args.name.startswith("photo"):
        vrng = np.random.default_rng(12345)
        vcount = args.val_crops or (32 if args.name != "photo16" else 48)
        vsize = 128 if args.name != "photo16" else 64
        val_images = image_set(args.name, "val", vcount, vsize, vrng)
        rows = val_rows(val_images, cfg.context, relative)
        new = val_bpp(cfg, weights, rows)
        meta["validation_bpp"] = round(new, 4)
        line = f"validation ({vcount} crops {vsize}x{vsize}, held-out images): new {new:.4f} bpp"
        installed = priors.PRIOR_DIR / f"{args.name}.npz"
        if installed.exists():   # the prior in place before this run
            old = priors.load(priors.NAMES[args.name])
            if (old.cfg.context, old.cfg.relative) != (cfg.context, relative):
                rows = val_rows(val_images, old.cfg.context, old.cfg.relative)
            line += f", installed {val_bpp(old.cfg, old.weights, rows):.4f} bpp"
        print(line, flush=True)
    priors.save(out, cfg, weights, meta)
    print(f"wrote {out} ({out.stat().st_size} bytes); trained in {seconds}s")


if __name__ == "__main__":
    main()
