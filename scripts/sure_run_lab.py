"""What a "sure run" flag would save: the leading planes whose network probability is sure,
coded as one decision instead of one each (online_lab.md section 8; no format has it).

    python scripts/sure_run_lab.py record p768 /tmp/p768-mix.npz      # the mixed k's
    LABNET=1 python scripts/sure_run_lab.py record p768 /tmp/p768-net.npz   # the network's k's
    python scripts/sure_run_lab.py analyse /tmp/p768                  # both files: the estimate

`record` walks validation images (effort 0's ranked prior, no fit) and keeps every pixel
decision's bit and k. The network's own k needs the kernel of `network_k_lab.patch` (`git
apply`, rebuild, LABNET=1). `analyse` replays them: for a pixel's channel, the leading planes
whose network k is within T of certain (T in 2^-16) form a run the decoder could find before
decoding (along the predicted bits); a run of 2 or more becomes one flag decision whose
probability is the product of the run's network probabilities (clamped as the kernel clamps,
not mixed); when a bit of the run is not the predicted one, the flag fails and every plane
is coded as now. The other decisions keep their recorded (mixed) cost.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CLAMP = 64 / 65536


def record(which: str, out: str) -> None:
    import rate_check
    from plane_costs import ranked_walk
    from train_prior import photo_sources, to8

    from inrcodec.walker import ImageSink

    class RowSink(ImageSink):
        def __init__(self, img3):
            super().__init__(img3)
            self.chunks = []

        def record_rows(self, bit_rows, k_rows) -> None:
            self.chunks.append((np.array(bit_rows, np.uint8), np.array(k_rows, np.uint16)))

    images = {"p768": lambda: rate_check.validation_photos768()[:4],
              "p128": lambda: [rate_check.centre(to8(a), 128, 128) for a in photo_sources("val")][:24],
              "illu": lambda: rate_check.illustrations768()}[which]()
    saved = {}
    for j, image in enumerate(images):
        _, enc, sink = ranked_walk(image, RowSink)
        if (enc.const >= 0).all():                     # nothing coded
            continue
        saved[f"b{j}"] = np.concatenate([b for b, _ in sink.chunks], axis=1)
        saved[f"k{j}"] = np.concatenate([k for _, k in sink.chunks], axis=1)
        saved[f"c{j}"] = np.asarray(enc.const)
    np.savez_compressed(out, **saved)
    print(f"{which}: {len(saved) // 3} images -> {out}")


def cost(k, bit):
    p1 = k / 65536.0
    return -np.log2(np.where(bit == 1, p1, 1 - p1))


def analyse(prefix: str, limits=(64, 128, 256, 512)) -> None:
    mix, net = np.load(prefix + "-mix.npz"), np.load(prefix + "-net.npz")
    for limit in limits:
        now = new = 0.0
        decisions_now = decisions_new = runs = fails = pixels = 0
        for key in (k for k in mix.files if k.startswith("b")):
            j = key[1:]
            bits, mixed, own, const = mix["b" + j], mix["k" + j], net["k" + j], mix["c" + j]
            row = 0
            for c in range(const.shape[1]):
                rows = int((const[:, c] < 0).sum())        # the coded planes, most significant first
                b = bits[row:row + rows].astype(np.int64)
                km, kn = mixed[row:row + rows].astype(np.float64), own[row:row + rows].astype(np.float64)
                row += rows
                pixels += b.shape[1]
                cm = cost(km, b)
                now += cm.sum()
                decisions_now += cm.size
                predicted = (kn >= 32768).astype(np.int64)
                sure = (kn <= limit) | (kn >= 65536 - limit)
                run = np.cumprod(sure, axis=0).sum(axis=0)
                kept = np.cumprod(sure & (predicted == b), axis=0).sum(axis=0)
                fail, used = kept < run, run >= 2
                p = np.where(predicted == 1, kn / 65536, 1 - kn / 65536)
                plane = np.arange(rows)[:, None]
                p_flag = np.prod(np.where(plane < np.where(fail, kept + 1, run)[None, :], p, 1.0), axis=0)
                p_fail = np.clip(1 - p_flag, CLAMP, 1 - CLAMP)
                rest = np.where(plane >= run[None, :], cm, 0).sum(axis=0)
                new += np.where(~used, cm.sum(axis=0), np.where(fail, -np.log2(p_fail) + cm.sum(axis=0),
                                                              -np.log2(1 - p_fail) + rest)).sum()
                decisions_new += np.where(~used, rows, np.where(fail, 1 + rows, 1 + rows - run)).sum()
                runs += used.sum()
                fails += (used & fail).sum()
        print(f"{Path(prefix).name} T={limit}: {now / 8:,.0f} -> {new / 8:,.0f} bytes ({(new / now - 1) * 100:+.2f}%), "
              f"decisions {decisions_now:,} -> {decisions_new:,} ({decisions_new / decisions_now:.3f}x); "
              f"a run on {runs / pixels:.3f} of the channel-pixels, {fails / max(runs, 1):.4f} of them failing")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("set", choices=("p768", "p128", "illu"))
    r.add_argument("out")
    a = sub.add_parser("analyse")
    a.add_argument("prefix", nargs="+", help="PREFIX for PREFIX-mix.npz and PREFIX-net.npz")
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.set, args.out)
    else:
        for prefix in args.prefix:
            analyse(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
