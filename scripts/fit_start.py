"""Which prior the every-layer delta fit starts from (encoder.fit_start).

    python scripts/fit_start.py [--sets photo,illu] [--margins 0,0.03] [--priors photo,photo-2,photo-3]

Validation data only (TRAINING.md): the 768x512 centre crops of scripts/fit_batch.py
(7 validation photos, 15 illustrations). For each margin, encoder.FIT_START_MARGIN is
set to it (0: the fit starts from the ranked prior, as linr 0.5.3 did) and every image
is encoded at the default effort, colour order rgb as the CLI gives a PNG; --priors
also encodes each image with each of those priors forced (fitted from it). Whole-file
bytes, every file decoded and compared; one line per image, then the totals.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="photo,illu")
    ap.add_argument("--margins", default="0,0.03")
    ap.add_argument("--priors", default="", help="comma-separated priors to force as well")
    args = ap.parse_args()
    import inrcodec
    from inrcodec import encoder
    from fit_batch import images
    margins = [float(m) for m in args.margins.split(",")]
    forced = [p for p in args.priors.split(",") if p]
    columns = [f"margin {m:g}" for m in margins] + forced
    print("| set | image | " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    for name in args.sets.split(","):
        totals = [0] * len(columns)
        for i, img in enumerate(images(name)):
            sizes = []
            for col in columns:
                if col in forced:
                    data = inrcodec.encode(img, prior=col, color_order="rgb")
                else:
                    encoder.FIT_START_MARGIN = margins[columns.index(col)]
                    data = inrcodec.encode(img, color_order="rgb")
                assert np.array_equal(inrcodec.decode(data), img)
                sizes.append(len(data))
            totals = [t + s for t, s in zip(totals, sizes)]
            print(f"| {name} | {i} | " + " | ".join(f"{s:,}" for s in sizes) + " |", flush=True)
        change = ", ".join(f"{c}: {100 * (t / totals[0] - 1):+.2f}%" for c, t in zip(columns[1:], totals[1:]))
        print(f"| {name} | all | " + " | ".join(f"{t:,}" for t in totals) + f" | ({change})", flush=True)


if __name__ == "__main__":
    main()
