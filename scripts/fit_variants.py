"""The every-layer fit's settings against rate and time, on validation data only.

    python scripts/fit_variants.py base qat0.5 steps1.25+qat0.5 [--sets photo,illu]

Each variant encodes the 768x512 validation crops of scripts/fit_batch.py (7 photos, 15
illustrations) at the default effort, colour order rgb as the CLI gives a PNG, with
the fit's arguments changed as the variant says (+ joins several; cpu_fit.train's since
linr 0.14, fitting.train's before):
  stepsX  the fit's steps times X      qatX   QAT's steps times X
  lrX     the fit's rate times X       l1xX   the delta's L1 price times X
  cosine  a cosine-decayed rate in the fit (cosine-all: in QAT too)
`base` changes nothing. The fit is train's call with seed 0, QAT its call with seed 1.
Prints, per variant and set, the whole-file bytes (every file decoded and compared), the
encoding time and the bytes per image. linr 0.8.1's choices (encoder.py) came from it.
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


def changed(variant: str, steps: int, kwargs: dict) -> int:
    """train's steps, with kwargs changed in place, for one call under `variant`."""
    fit = kwargs.get("seed", 0) == 0                    # the fit; QAT trains with seed + 1
    for part in variant.split("+"):
        if part not in ("base", "cosine", "cosine-all") and not part.startswith(("steps", "qat", "lr", "l1x")):
            raise SystemExit(f"unknown variant part {part!r}")
        if part == "cosine-all" or (part == "cosine" and fit):
            kwargs["cosine"] = True
        elif part.startswith("steps") and fit:
            steps = int(steps * float(part[5:]))
        elif part.startswith("qat") and not fit:
            steps = int(steps * float(part[3:]))
        elif part.startswith("lr") and fit:
            kwargs["lr"] = kwargs["lr"] * float(part[2:])
        elif part.startswith("l1x"):
            kwargs["l1"] = kwargs["l1"] * float(part[3:])
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+")
    ap.add_argument("--sets", default="photo,illu")
    args = ap.parse_args()
    import inrcodec
    from inrcodec import cpu_fit, fitting
    from fit_batch import images
    variant = {"name": "base"}
    # the encoder's fitters call their module's train at each call: the CPU fit's (linr 0.14's
    # default) and torch's (ber0, CUDA, sine networks; cosine is torch's alone)
    for module in (cpu_fit, fitting):
        def patched(net, data, steps, _train=module.train, **kwargs):
            return _train(net, data, changed(variant["name"], steps, kwargs), **kwargs)
        module.train = patched
    sets = {name: images(name) for name in args.sets.split(",")}
    for name in args.variants:
        variant["name"] = name
        for set_name, imgs in sets.items():
            t0, sizes = time.perf_counter(), []
            for img in imgs:
                data = inrcodec.encode(img, color_order="rgb")
                assert np.array_equal(inrcodec.decode(data), img)
                sizes.append(len(data))
            print(f"{name} {set_name}: {sum(sizes):,} bytes, {time.perf_counter() - t0:.1f} s, {sizes}",
                  flush=True)


if __name__ == "__main__":
    main()
