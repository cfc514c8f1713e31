"""Lab (online_lab.md section 11): the mixer skipped for decisions whose network k lies at the
clamp, always or while a (channel, plane)'s gate of surprises is low, with
scripts/clamp_gate_lab.patch applied to a checkout's kernel:

    git worktree add /tmp/gate HEAD && cd /tmp/gate && git apply scripts/clamp_gate_lab.patch \
        && python setup.py build_ext --inplace
    LINR_BENCH_DATA=../shared/data python scripts/clamp_gate_lab.py --tree /tmp/gate [--sets p128,p768]
    LINR_BENCH_DATA=../shared/data python scripts/clamp_gate_lab.py --tree /tmp/gate --time

Per set: the decisions, the share at the clamp and the share skipped, the surprises among the
skipped, and the ideal code length (walker.CostSink, effort 0's prior) as it is, skipped
always (1) and gated (2). --time: kodim05's single-thread walk in each mode, best of 3, three
rounds. Validation data only (scripts/validation_sets.py).
"""
from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", required=True, help="a checkout with the patch applied and built")
    ap.add_argument("--sets", default="p128,p768,illu,g16,s16,mnist")
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    tree = Path(args.tree).resolve()
    sys.path[:0] = [str(tree), str(tree / "scripts")]
    import numpy as np

    from inrcodec import kernels, priors
    from inrcodec.walker import CostSink, Geometry, ImageSink, constant_planes, walk
    lib = kernels._load()
    lib.linr_stats_ptr.restype = ctypes.POINTER(ctypes.c_longlong)
    stats = lib.linr_stats_ptr()
    if args.time:
        import cv2
        img = cv2.imread(str(tree.parent / "shared" / "data" / "kodak" / "kodim05.png")).astype(np.uint16)
        prior = priors.load("photo-7")
        for mode in [0, 1, 2] * 3:
            lib.linr_set_gate(mode)
            best = []
            for _ in range(3):
                t = time.perf_counter()
                walk(Geometry(*img.shape, 8), prior.cfg, list(prior.weights), constant_planes(img, 8),
                     ImageSink(img), known=img, workers=1)
                best.append(time.perf_counter() - t)
            print(f"mode {mode}: kodim05's walk {min(best):.3f} s", flush=True)
        return
    from validation_sets import data, pri
    for s in args.sets.split(","):
        prior = priors.load(pri[s])
        imgs = [np.ascontiguousarray(a if a.ndim == 3 else a[:, :, None]).astype(np.uint16) for a in data[s]()]
        bits = 16 if s in ("g16", "s16") else 8
        cost = {}
        for mode in (0, 1, 2):
            lib.linr_set_gate(mode)
            for i in range(4):
                stats[i] = 0
            total = 0.0
            for img in imgs:
                h, w, c = img.shape
                sink = CostSink(img)
                walk(Geometry(h, w, c, bits), prior.cfg, list(prior.weights), constant_planes(img, bits), sink,
                     known=img, workers=1)
                total += sink.cost / 8
            cost[mode] = total
            n = max(1, stats[0])
            skipped = stats[3] if mode == 2 else (stats[1] if mode == 1 else 0)
            print(f"{s} mode {mode}: {stats[0]} decisions, {stats[1] / n:.3f} at the clamp, {skipped / n:.3f} "
                  f"skipped, {stats[2]} surprises skipped; {cost[mode]:.0f} bytes "
                  f"({100 * (cost[mode] / cost[0] - 1):+.3f}%)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
