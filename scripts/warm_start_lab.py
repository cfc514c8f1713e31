"""Lab (online_lab.md section 11): the mixing state warmed on training photos instead of
format 13's start, on validation images (this tree's kernel, effort 0's prior):

    LINR_BENCH_DATA=../shared/data python scripts/warm_start_lab.py [--warm 30] [--sets p128,p768]

The state walks --warm photos of photo-5's training split (train_prior.image_set, seed 7) one
after another; each validation image then starts from a copy of it with its counters' counts
capped (255: as walked; 32, 8, 2) and the learning rate's count reset, against the cold start:
the ideal code length of its decisions (walker.CostSink).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=30)
    ap.add_argument("--sets", default="p128,p768")
    args = ap.parse_args()
    import numpy as np

    import train_prior
    from inrcodec import priors
    from inrcodec.walker import CostSink, Geometry, constant_planes, walk
    from validation_sets import data
    prior = priors.load("photo-7")

    def cost(img, state=None):
        h, w, c = img.shape
        fresh = Geometry.tables
        if state is not None:
            Geometry.tables = lambda self: state
        try:
            sink = CostSink(img)
            walk(Geometry(h, w, c, 8), prior.cfg, list(prior.weights), constant_planes(img, 8), sink, known=img,
                 workers=1)
        finally:
            Geometry.tables = fresh
        return sink.cost / 8

    warm = Geometry(128, 128, 3, 8).tables()
    for a in train_prior.image_set("photo-5", "train", np.random.default_rng(7))[:args.warm]:
        cost(np.ascontiguousarray(a).astype(np.uint16), warm)

    def capped(cap):
        s = warm.copy()
        for name in ("prefix", "cells", "match", "sse"):
            arr = getattr(s, name)
            arr[:] = (arr & ~255) | np.minimum(arr & 255, cap)
        if cap < 255:
            s.seen[:] = 0
        return s
    for name in args.sets.split(","):
        imgs = [np.ascontiguousarray(a).astype(np.uint16) for a in data[name]()]
        cold = sum(cost(a) for a in imgs)
        print(f"{name}: cold start {cold:.0f} bytes", flush=True)
        for cap in (255, 32, 8, 2):
            v = sum(cost(a, capped(cap)) for a in imgs)
            print(f"{name}: warm, counts capped at {cap}: {v:.0f} bytes ({100 * (v / cold - 1):+.2f}%)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
