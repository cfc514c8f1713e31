"""Whole-file bytes on validation data, for comparing two trees of linr (format changes).

    python scripts/rate_check.py --tree /path/to/old/checkout -o old.json [--effort 0]
    python scripts/rate_check.py -o new.json --compare old.json [--seed 0 1 2] [--jxl]

Validation data only (TRAINING.md): centre crops of the photo validation split
at 128x128 and 768x512, 768x512 centre crops of the illustrations (illu768, not in the
default sets: scripts/illustrations.py), the medical validation slices and a synthesised
sparse 16-bit elevation map (scripts/mixing_lab.py's), and the last MNIST
training images (held out of prior training). The val-* sets are the
validation splits scripts/train_prior.py keeps for its priors (24 128x128 photo crops,
the 7 768x512 photos, 15 16-bit gray images, the last 200 MNIST training images;
val-repeat128: the photo crops' centres scaled up 2x by repeating pixels; val-grayrgb128:
their luma saved as RGB; val-small: small ramps and downscaled photos, small_synthetic): larger, for mixing changes. Every file is decoded and compared. The tree's inrcodec is
imported from --tree (default: this checkout).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def centre(a, w, h):
    y, x = max(0, (a.shape[0] - h) // 2), max(0, (a.shape[1] - w) // 2)
    return np.ascontiguousarray(a[y:y + h, x:x + w])


def validation_photos768() -> list:
    """768x512 centre crops of the photo validation split (scripts/train_prior.py's), of
    the photos whose crop is that whole size (fit_budget.py, fit_batch.py)."""
    from train_prior import photo_sources, to8
    crops = [centre(to8(a), 768, 512) for a in photo_sources("val") if min(a.shape[:2]) >= 512]
    return [a for a in crops if a.shape[:2] == (512, 768)]


def illustrations768() -> list:
    import cv2
    from illustrations import sources
    out = [centre(cv2.imread(str(p), cv2.IMREAD_COLOR)[:, :, ::-1], 768, 512) for p in sources()]
    return [a for a in out if a.shape[:2] == (512, 768)]


def elevation(size=256, seed=1):
    """Smooth field quantised to 800 levels, times 80: a sparse 16-bit histogram."""
    import cv2
    rng = np.random.default_rng(seed)
    f = np.zeros((size, size))
    for octave in range(6):
        n = 2 ** (octave + 2)
        g = rng.normal(0, 1, (n, n))
        f += cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC) / 1.8 ** octave
    f = (f - f.min()) / (f.max() - f.min())
    return (np.round(f * 799) * 80).astype(np.uint16)


def small_synthetic(seed: int = 1) -> list:
    """val-small: 40 small images of PngSuite's kinds, made here from validation data and a
    seeded generator (TRAINING.md: synthesised; PngSuite itself is a test set): 16 ramps
    (wrapping on along the rows, rows offset, f(x) + g(y), planes clipped at the edges; 1 to
    16 bits, 1 to 4 channels, some with a noisy bit), 16 32x32 area-downscales of the
    validation photo crops (8 quantised to 1-4 bits a channel) and 8 of them 8x8 scaled up 4x
    by repeating pixels."""
    from train_prior import image_set
    rng = np.random.default_rng(seed)
    out = []
    for i in range(16):
        h, w = (int(v) for v in rng.integers(16, 49, 2))
        c = int(rng.choice([1, 2, 3, 4]))
        bits = int(rng.choice([1, 2, 4, 8, 8, 12, 16]))
        top = 1 << bits
        y, x = np.mgrid[:h, :w][:, :, :, None] + np.zeros((1, 1, 1, c), int)
        steps = rng.integers(1, max(2, top // 32), (2, c))
        kind = i % 4
        if kind == 0:                       # one ramp running on from row to row
            v = (y * w + x) * steps[0]
        elif kind == 1:                     # rows offset
            v = x * steps[0] + rng.integers(0, top, (h, 1, c))
        elif kind == 2:                     # f(x) + g(y)
            v = np.cumsum(rng.integers(0, 3, (1, w, c)), 1) * steps[0] + \
                np.cumsum(rng.integers(0, 3, (h, 1, c)), 0) * steps[1]
        else:                               # a plane, clipped
            v = np.clip(x * steps[0] - y * steps[1] + top // 2, 0, top - 1)
        if i % 3 == 0:
            v = v + rng.integers(0, 2, v.shape)
        v = v % top
        v = v.astype(np.uint8 if bits <= 8 else np.uint16)
        out.append(np.ascontiguousarray(v[:, :, 0]) if c == 1 else v)
    photos = image_set("photo-5", "val", np.random.default_rng(seed))
    for i, a in enumerate(photos[:16]):
        small = cv2.resize(a, (32, 32), interpolation=cv2.INTER_AREA)
        if i % 2:
            keep = int(rng.integers(1, 5))
            small = (small >> (8 - keep)).astype(np.uint8)
        out.append(small)
    for a in photos[16:24]:
        out.append(np.repeat(np.repeat(cv2.resize(a, (8, 8), interpolation=cv2.INTER_AREA), 4, 0), 4, 1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=str(ROOT))
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--effort", type=int, default=2)
    ap.add_argument("--seed", type=int, nargs="+", default=[0],
                    help="the encoder's seeds (fitting's sampling): with several, each image's bytes "
                         "are the mean over them (a fit's trajectory is noise that a change of the "
                         "fit's arithmetic only reshuffles)")
    ap.add_argument("--color-order", default="given", help="colour images' order (the CLI codes PNGs as rgb)")
    ap.add_argument("--compare")
    ap.add_argument("--sets", default="photo128,photo768,gray16,mnist")
    ap.add_argument("--jxl", action="store_true", help="and JPEG-XL e9's bytes of the same images")
    args = ap.parse_args()
    sys.path.insert(0, args.tree)
    sys.path.insert(1, str(ROOT / "scripts"))
    import inrcodec
    from train_prior import image_set, medical, photo_sources, to8
    from inrcodec.bench import datasets as bd
    assert Path(inrcodec.__file__).resolve().is_relative_to(Path(args.tree).resolve()), inrcodec.__file__
    want = args.sets.split(",")
    photos = [to8(a) for a in photo_sources("val")] if {"photo128", "photo768"} & set(want) else []
    sets = {
        "photo128": lambda: [centre(a, 128, 128) for a in photos[:8]],
        "photo768": lambda: [centre(a, 768, 512) for a in photos if min(a.shape[:2]) >= 512][:2],
        "gray16": lambda: medical("val") + [elevation()],
        "mnist": lambda: [np.asarray(a) for _, a in bd.load("mnist-train", limit=100, offset=60000 - 100)],
        "illu768": illustrations768,
        "val-photo128": lambda: image_set("photo-5", "val", np.random.default_rng(1)),
        "val-photo768": validation_photos768,
        "val-gray16": lambda: image_set("gray16-2", "val", np.random.default_rng(1)),
        "val-mnist": lambda: image_set("mnist", "val", np.random.default_rng(1)),
        # scaled up by repeating pixels (format 9's match counter): the centre 64x64 of each
        # val-photo128 crop, every pixel 2 x 2
        "val-repeat128": lambda: [np.repeat(np.repeat(a[32:96, 32:96], 2, 0), 2, 1)
                                  for a in image_set("photo-5", "val", np.random.default_rng(1))],
        # gray saved as colour (format 9's gray copies): each val-photo128 crop's luma as R = G = B
        "val-grayrgb128": lambda: [np.repeat(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)[:, :, None], 3, 2)
                                   for a in image_set("photo-5", "val", np.random.default_rng(1))],
        # small images of PngSuite's kinds (format 12's filters): small_synthetic
        "val-small": small_synthetic,
    }
    result = {}
    for name in want:
        images = sets[name]()
        sizes, t0 = [], time.perf_counter()
        for img in images:
            lengths = []
            for seed in args.seed:
                data = inrcodec.encode(img, effort=args.effort, seed=seed,
                                       color_order=args.color_order if img.ndim == 3 else "given")
                assert np.array_equal(inrcodec.decode(data), img), name
                lengths.append(len(data))
            sizes.append(sum(lengths) / len(lengths))
        px = sum(a.shape[0] * a.shape[1] for a in images)
        result[name] = {"bytes": sizes, "bpp": 8 * sum(sizes) / px, "seconds": time.perf_counter() - t0}
        versus = ""
        if args.jxl:
            import imagecodecs
            # colour sets hold B, G, R (cv2's order): JPEG-XL gets R, G, B
            jxl = [len(imagecodecs.jpegxl_encode(np.ascontiguousarray(a if a.ndim == 2 else a[:, :, ::-1]),
                                                 lossless=True, effort=9))
                   for a in images if a.ndim == 2 or a.shape[2] == 3]
            if len(jxl) == len(images):
                result[name]["jxl_bytes"] = jxl
                versus = f", {sum(sizes) / sum(jxl):.3f}x JPEG-XL e9's {sum(jxl)} bytes"
        print(f"{name}: {result[name]['bpp']:.4f} bpp, {len(images)} images, {result[name]['seconds']:.1f} s{versus}",
              flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        for name in want:
            if name in old:
                print(f"{name}: {old[name]['bpp']:.4f} -> {result[name]['bpp']:.4f} "
                      f"({100 * (result[name]['bpp'] / old[name]['bpp'] - 1):+.2f}%)")


if __name__ == "__main__":
    main()
