"""Where an image's bits go: the code length of each bit plane's decisions (effort 0's
ranked prior, no fit), in bits per decision, most significant plane first.

    python scripts/plane_costs.py IMAGE.png [...]       # any image linr reads
    python scripts/plane_costs.py --synth16             # scripts/synth16.py's kinds, seed 12345
                                                        # (validation: not the test set's 2026)
    python scripts/plane_costs.py --val p768 --mean     # the first 4 768x512 validation photos
                                                        # (p128: the first 12 128x128 crops)

A plane of pure noise costs 1 bit a decision; what a better prediction would save lies in
the planes between the nearly certain high ones and the noise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inrcodec import exact  # noqa: E402
from inrcodec.encoder import Encoder  # noqa: E402
from inrcodec.walker import CostSink, Geometry, walk  # noqa: E402


class PlaneSink(CostSink):
    """A CostSink that also sums each row of a chunk's decisions (a channel's plane each), and
    each pass's (by level and kind)."""

    def __init__(self, img3: np.ndarray):
        super().__init__(img3)
        self.bits, self.count = None, None
        self.passes, self.now = {}, None

    def begin_chunk(self, p, start, learner) -> None:
        self.now = (p.level, "grid centre edge".split()[p.kind] if p.kind < 3 else str(p.kind))

    def record_rows(self, bit_rows, k_rows) -> None:
        cost = exact.decision_bits(k_rows, bit_rows).sum(axis=1)
        if self.bits is None:
            self.bits, self.count = np.zeros(len(cost)), np.zeros(len(cost))
        self.bits[:len(cost)] += cost
        self.count[:len(cost)] += bit_rows.shape[1]
        self.cost += float(cost.sum())
        bits, pixels = self.passes.get(self.now, (0.0, 0))
        self.passes[self.now] = (bits + float(cost.sum()), pixels + bit_rows.shape[1])


def ranked_walk(image: np.ndarray, make_sink):
    """(prior name, the encoder, the sink): the pixel decisions of effort 0's ranked prior (no
    fit), their bits from the image, walked on one thread into make_sink(the model's image)."""
    enc = Encoder(image, effort=0, prior="auto", mode="smallest", seed=0, device="cpu", overrides={},
                  order="given", progress=False)
    best = enc.rank()
    sink = make_sink(enc.img3)
    walk(Geometry(*enc.img3.shape[:2], enc.info.channels, enc.info.bits), best.header.cfg, best.base,
         enc.const, sink, enc.backend, known=enc.img3, workers=1)
    return best.label, enc, sink


def plane_costs(image: np.ndarray):
    """(prior name, total bytes of the pixel decisions, bits per decision of each row, and
    {(level, pass kind): (bits, pixels)})."""
    label, _, sink = ranked_walk(image, PlaneSink)
    return label, sink.cost / 8, sink.bits / np.maximum(sink.count, 1), sink.passes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="*")
    ap.add_argument("--synth16", action="store_true")
    ap.add_argument("--val", choices=("p768", "p128"), help="validation photos (rate_check.py's)")
    ap.add_argument("--mean", action="store_true",
                    help="also the mean cost of each plane over the images that code all their planes")
    args = ap.parse_args()
    named = []
    if args.synth16:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import synth16
        rng = np.random.default_rng(12345)
        named += [(f"{k}-{i}", getattr(synth16, k)(rng, 256))
                  for k in ("ridged_terrain", "film_scan", "radiograph", "fluorescence") for i in range(2)]
    if args.val:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import rate_check
        from train_prior import photo_sources, to8
        if args.val == "p768":
            named += [(f"p768-{i}", a) for i, a in enumerate(rate_check.validation_photos768()[:4])]
        else:
            named += [(f"p128-{i}", rate_check.centre(to8(a), 128, 128))
                      for i, a in enumerate(photo_sources("val")[:12])]
    if args.images:
        from inrcodec.pixels import read_image
        named += [(Path(p).name, read_image(p)) for p in args.images]
    full = []
    for name, image in named:
        label, total, rows, passes = plane_costs(image)
        if len(rows) == image.dtype.itemsize * 8 * (image.shape[2] if image.ndim == 3 else 1):
            full.append(rows)
        print(f"{name}: {label}, {total:.0f} bytes; bits a decision, plane by plane: "
              + " ".join(f"{r:.3f}" for r in rows))
        print("  by pass (level kind: bits a pixel, share of the pixels, share of the bits): " + "; ".join(
            f"{lv} {kind}: {b / n:.2f}, {n / image.shape[0] / image.shape[1]:.3f}, {b / 8 / total:.3f}"
            for (lv, kind), (b, n) in sorted(passes.items(), key=lambda kv: -kv[0][0])))
    if args.mean and full:
        print(f"mean of {len(full)}, plane by plane: " + " ".join(f"{r:.4f}" for r in np.mean(full, axis=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
