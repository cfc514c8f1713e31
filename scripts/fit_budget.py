"""What the default effort's delta fit buys on full-size photographs, per step budget.

    python scripts/fit_budget.py [--efforts 0,1,2,3,4] [--images 6]

Validation data only (TRAINING.md): 768x512 centre crops of the photo validation
split (scripts/train_prior.py's). For each image, effort 0 (no fit), then effort 2
with encoder.BIG_IMAGE_EFFORT set to each value in --efforts (the fit's steps are
25 x (1 + that), plus a third of them of quantisation-aware training); whole-file
bytes, every file decoded and compared; seconds are encode calls in this warm
process (one thread budget, the machine otherwise idle).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--efforts", default="1,2,3,4")
    ap.add_argument("--images", type=int, default=6)
    args = ap.parse_args()
    import inrcodec
    from inrcodec import encoder
    from rate_check import validation_photos768
    photos = validation_photos768()[:args.images]
    px = sum(p.shape[0] * p.shape[1] for p in photos)
    inrcodec.encode(photos[0][:64, :64], effort=2)          # imports torch, warms the caches
    rows = []
    for label, effort, big in [("effort 0", 0, None)] + [(f"fit x{b}", 2, b) for b in map(int, args.efforts.split(","))]:
        if big is not None:
            encoder.BIG_IMAGE_EFFORT = big
        sizes, t0 = [], time.perf_counter()
        for img in photos:
            data = inrcodec.encode(img, effort=effort)
            sizes.append(len(data))
            assert np.array_equal(inrcodec.decode(data), img)
        seconds = time.perf_counter() - t0
        rows.append((label, 8 * sum(sizes) / px, seconds / len(photos)))
        print(f"| {label} | {rows[-1][1]:.4f} | {100 * (rows[-1][1] / rows[0][1] - 1):+.2f}% | "
              f"{rows[-1][2]:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
