"""Minibatch rows and steps of the every-layer delta fit (images of 2^18 pixels and more).

    python scripts/fit_batch.py [--configs 8192x1,1536x2.5,1024x3] [--sets photo,illu] [--effort 2]

Validation data only (TRAINING.md): 768x512 centre crops of the photo validation
split (scripts/train_prior.py's; 7 photos) and of the illustrations
(scripts/illustrations.py's 15 wallpapers). Each config ROWSxFACTOR sets
encoder.PRIOR_FIT_BATCH = ROWS and encoder.PRIOR_FIT_STEPS = FACTOR (the default
effort's steps times FACTOR, plus a third of them of quantisation-aware training);
8192x1 is linr 0.5.2's fit. Whole-file bytes at --effort (default 2), every file
decoded and compared; seconds are the encode calls' process CPU time (less
sensitive than wall time to other tenants of a shared machine).
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


def images(name: str) -> list:
    from rate_check import centre, validation_photos768
    if name == "photo":
        return validation_photos768()
    import cv2
    from illustrations import sources
    out = [centre(cv2.imread(str(p), cv2.IMREAD_COLOR)[:, :, ::-1], 768, 512) for p in sources()]
    return [a for a in out if a.shape[:2] == (512, 768)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="8192x1,1536x2.5,1024x3")
    ap.add_argument("--sets", default="photo,illu")
    ap.add_argument("--effort", type=int, default=2)
    args = ap.parse_args()
    import inrcodec
    from inrcodec import encoder
    inrcodec.encode(np.zeros((64, 64, 3), np.uint8) + 7, effort=2)      # imports torch
    print("| set | rows x steps | mean bpp | change | CPU s |")
    print("|---|---|---:|---:|---:|")
    for name in args.sets.split(","):
        imgs = images(name)
        px = sum(a.shape[0] * a.shape[1] for a in imgs)
        first = None
        for config in args.configs.split(","):
            rows, factor = config.split("x")
            encoder.PRIOR_FIT_BATCH, encoder.PRIOR_FIT_STEPS = int(rows), float(factor)
            size, cpu = 0, 0.0
            for img in imgs:
                t = time.process_time()
                data = inrcodec.encode(img, effort=args.effort)
                cpu += time.process_time() - t
                assert np.array_equal(inrcodec.decode(data), img)
                size += len(data)
            bpp = 8 * size / px
            first = first or bpp
            print(f"| {name} ({len(imgs)}) | {config} | {bpp:.4f} | {100 * (bpp / first - 1):+.2f}% | {cpu:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
