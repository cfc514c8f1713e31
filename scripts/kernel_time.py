"""Time a Kodak image's decisions on one thread, in one process (a warm-process figure).

    python scripts/kernel_time.py [--rounds 3] [--file some.linr]

The encoder's walk of kodim05 under photo-7 with its bits taken from the image
(walker.walk with an ImageSink, no helper threads: features, trunk and decisions in
turn) and, with --file, that file's decode with a thread budget of one; the best of
--rounds each. A hash of the walk's probabilities shows that two trees compute the same
ones. Run it with PYTHONPATH pointing at each tree to compare kernels.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak" / "kodim05.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--file", help="a .linr file to decode too")
    args = ap.parse_args()
    import cv2
    import inrcodec
    from inrcodec import priors, threads
    from inrcodec.walker import Geometry, ImageSink, constant_planes, walk
    img = cv2.imread(str(KODAK), cv2.IMREAD_COLOR).astype(np.uint16)     # B, G, R: the model's order
    prior = priors.load("photo-7")
    geom = Geometry(img.shape[0], img.shape[1], 3, 8)
    const = constant_planes(img, 8)
    times, sink = [], None
    for _ in range(args.rounds):
        sink = ImageSink(img)
        t = time.perf_counter()
        walk(geom, prior.cfg, list(prior.weights), const, sink, known=img, workers=1)
        times.append(time.perf_counter() - t)
    digest = 0
    for _, k in sink.parts:
        digest = (digest * 31 + int(k.astype(np.int64).sum())) % (1 << 61)
    line = f"{inrcodec.__file__}: walk {min(times):.3f} s"
    if args.file:
        data = Path(args.file).read_bytes()
        threads.configure(1)
        decode = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            inrcodec.decode(data)
            decode.append(time.perf_counter() - t)
        line += f", decode {min(decode):.3f} s"
    print(f"{line} (best of {args.rounds}); probabilities' hash {digest}")


if __name__ == "__main__":
    sys.exit(main())
