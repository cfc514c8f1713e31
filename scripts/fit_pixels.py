"""How many pixels the every-layer delta fit samples its minibatches from (encoder.MINIBATCH_FIT_PIXELS).

    python scripts/fit_pixels.py [--pixels 65536,262144,524288] [--sets photo,illu]

Validation data only (TRAINING.md): the 768x512 centre crops of scripts/fit_batch.py
(7 validation photos, 15 illustrations; 768x512 is 393,216 pixels, so 524288 takes them
all). Every image is encoded at the default effort for each value, colour order rgb as
the CLI gives a PNG; whole-file bytes and encoding seconds (in this process), every file
decoded and compared; one line per image, then the totals against the first value.
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
    ap.add_argument("--pixels", default="65536,262144,524288")
    ap.add_argument("--sets", default="photo,illu")
    args = ap.parse_args()
    import inrcodec
    from inrcodec import encoder
    from fit_batch import images
    values = [int(v) for v in args.pixels.split(",")]
    print("| set | image | " + " | ".join(f"{v:,} pixels" for v in values) + " |")
    print("|---|---|" + "---:|" * len(values))
    for name in args.sets.split(","):
        sizes, seconds = [0] * len(values), [0.0] * len(values)
        for i, img in enumerate(images(name)):
            row = []
            for j, v in enumerate(values):
                encoder.MINIBATCH_FIT_PIXELS = v
                t = time.perf_counter()
                data = inrcodec.encode(img, color_order="rgb")
                seconds[j] += time.perf_counter() - t
                assert np.array_equal(inrcodec.decode(data), img)
                sizes[j] += len(data)
                row.append(f"{len(data):,}")
            print(f"| {name} | {i} | " + " | ".join(row) + " |", flush=True)
        change = ", ".join(f"{100 * (s / sizes[0] - 1):+.2f}%" for s in sizes[1:])
        print(f"| {name} | all | " + " | ".join(f"{s:,} ({t:.0f} s)" for s, t in zip(sizes, seconds))
              + f" | ({change})", flush=True)


if __name__ == "__main__":
    main()
