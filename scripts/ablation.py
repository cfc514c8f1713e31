"""The decision kernel's levers, one row each, on today's priors: what each adds in rate and in
decision time (the README's ablation table).

    LINR_BENCH_DATA=../shared/data python scripts/ablation.py            # rate, then time
    LINR_BENCH_DATA=../shared/data python scripts/ablation.py --sets p128,p768 --rounds 5

Every learner the kernel still runs (each format's, kept so that released files decode)
walks the same images under the same built-in prior, effort 0's (no delta): the ideal code
length of the pixel decisions (walker.CostSink; no header, no fit), summed per set, and the
single-thread walk of kodim05 with its bits from the image (walker.ImageSink: features,
trunk and decisions in turn, the work of a decode; best of --rounds). The rows are
cumulative, format by format, except ADAPT (formats 3-4), which the mixing replaced. Sets
are scripts/validation_sets.py's (never Kodak's images: kodim05 is only timed).
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

ROWS = [   # (learner, what it adds against the row before)
    ("plain", "the network's probability alone (format 2)"),
    ("adapt", "a table per (channel, plane) refining it, learnt a batch at a time (formats 3-4; replaced)"),
    ("mix", "4 context counters and the network in a logistic mixer, learnt every decision (formats 5-7)"),
    ("mix_sse", "4 weight sets by activity and 2 SSE rows (format 8)"),
    ("mix_match", "a counter of the nearest neighbours' bits (formats 9-10)"),
    ("mix2", "a second mixer and a final one; nothing learnt from settled decisions (formats 11-12)"),
    ("mix_fine", "the clamp at 2^-13 instead of 2^-10 (format 13)"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="p128,p768,illu,g16,s16,mnist")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import cv2

    from inrcodec import priors, walker
    from inrcodec.walker import CostSink, Geometry, ImageSink, constant_planes, walk
    from validation_sets import data, pri
    learners = {name: getattr(walker, name.upper()) for name, _ in ROWS}
    sets = args.sets.split(",")
    rates = {s: {} for s in sets}
    for s in sets:
        prior = priors.load(pri[s])
        imgs = [np.ascontiguousarray(a if a.ndim == 3 else a[:, :, None]) for a in data[s]()]
        for name, _ in ROWS:
            total = 0.0
            for img in imgs:
                h, w, c = img.shape
                bits = 16 if img.dtype == np.uint16 else 8            # as mixing_rate.py counts them
                img = img.astype(np.uint16)
                sink = CostSink(img)
                walk(Geometry(h, w, c, bits, learners[name]), prior.cfg, list(prior.weights),
                     constant_planes(img, bits), sink, known=img, workers=1)
                total += sink.cost
            rates[s][name] = total / 8
        print(s, len(imgs), {k: round(v) for k, v in rates[s].items()}, file=sys.stderr)
    img = cv2.imread(str(ROOT.parent / "shared" / "data" / "kodak" / "kodim05.png"), cv2.IMREAD_COLOR)
    img = img.astype(np.uint16)
    prior = priors.load("photo-7")
    seconds = {}
    for name, _ in ROWS:
        geom = Geometry(img.shape[0], img.shape[1], 3, 8, learners[name])
        best = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            walk(geom, prior.cfg, list(prior.weights), constant_planes(img, 8), ImageSink(img), known=img,
                 workers=1)
            best.append(time.perf_counter() - t)
        seconds[name] = min(best)
    head = ["learner", "adds", *[f"{s} bytes" for s in sets], "kodim05 walk, s"]
    print(f"| {' | '.join(head)} |\n|---|---|" + "---:|" * (len(head) - 2))
    previous = None
    for name, adds in ROWS:
        base = "plain" if name == "mix" else previous       # the mixing replaced adapt's tables
        cells = [f"`{name}`", adds]
        for s in sets:
            v = rates[s][name]
            cells.append(f"{v:,.0f}" + (f" ({100 * (v / rates[s][base] - 1):+.2f}%)" if base else ""))
        t = seconds[name]
        cells.append(f"{t:.3f}" + (f" ({100 * (t / seconds[base] - 1):+.0f}%)" if base else ""))
        print(f"| {' | '.join(cells)} |")
        previous = name


if __name__ == "__main__":
    main()
