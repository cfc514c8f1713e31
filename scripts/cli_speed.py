"""Process wall times of the `linr` command beside JPEG-XL, as users meet them: the issue's three
images, and another checkout's linr beside this one (inrcodec/bench/speed.py does the timing;
`linr bench speed` is the same for any images, with CPU and memory, into bench/results).

    python scripts/cli_speed.py                 # idle machine
    python scripts/cli_speed.py --load 2        # with two other CPU-bound processes running
    python scripts/cli_speed.py --prior-train   # `linr prior train` on 20 16-bit tiles, once
    python scripts/cli_speed.py --baseline /tmp/old   # and another checkout's linr, interleaved
    python scripts/cli_speed.py --write-images DIR    # the three images, for `linr bench speed`

Every timing is a new process (start-up included), median of --repeat runs;
JPEG-XL e9 (imagecodecs, lossless) runs in a process of its own on the same
image, in the same run. Images: Kodak kodim05 (768x512 RGB), its 128x128
centre crop, and a synthesised 256x256 16-bit gray image (smooth field plus
noise). Every linr round trip is checked. With --baseline DIR (a checkout of another linr
version with its kernels built, e.g. a git worktree), that linr's `python -m inrcodec` runs
beside this checkout's in each round, in the same order, so that both meet the same machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from inrcodec.bench.speed import busy, child, child_env, linr_command, measure_image

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak" / "kodim05.png"

def images(folder: Path) -> dict:
    kodak = cv2.imread(str(KODAK))
    y, x = np.mgrid[:256, :256]
    rng = np.random.default_rng(0)
    field = 20000 + 9000 * np.sin(x / 23.0) * np.cos(y / 31.0) + rng.normal(0, 40, (256, 256))
    out = {"kodim05 768x512": kodak, "kodim05 crop 128x128": kodak[192:320, 320:448],
           "16-bit gray 256x256": np.clip(field, 0, 65535).astype(np.uint16)}
    files = dict(zip(out, ("kodim05.png", "kodim05-crop128.png", "gray16-256.png")))
    for name, img in out.items():
        cv2.imwrite(str(folder / files[name]), img)
    return {name: folder / f for name, f in files.items()}


def tiles(folder: Path, count: int = 20) -> list:
    """`count` 128x128 16-bit gray tiles: smooth fields of random frequency, gain and noise."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:128, :128]
    out = []
    for i in range(count):
        fx, fy, gain = rng.uniform(8, 40), rng.uniform(8, 40), rng.uniform(3000, 20000)
        field = 30000 + gain * np.sin(x / fx + rng.uniform(0, 6)) * np.cos(y / fy) + rng.normal(0, 40, x.shape)
        out.append(folder / f"tile{i:02d}.png")
        cv2.imwrite(str(out[-1]), np.clip(field, 0, 65535).astype(np.uint16))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", type=int, default=0, help="CPU-bound processes running meanwhile")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="a substring of the image names to run")
    ap.add_argument("--prior-train", action="store_true",
                    help="time `linr prior train` on 20 128x128 16-bit tiles (default settings) instead")
    ap.add_argument("--baseline", type=Path, help="another linr checkout to time beside this one")
    ap.add_argument("--write-images", type=Path, metavar="DIR", help="only write the three images into DIR")
    args = ap.parse_args()
    if args.write_images:
        args.write_images.mkdir(parents=True, exist_ok=True)
        for p in images(args.write_images).values():
            print(p)
        return 0
    with busy(args.load), tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        child(linr_command() + ["--help"])     # bytecode cached
        if args.prior_train:
            files = [str(f) for f in tiles(tmp)]
            t = child(linr_command() + ["prior", "train", *files, "-o", str(tmp / "own.linrp"), "-q"])["wall_s"]
            print(f"load: {args.load}; linr prior train, 20 128x128 16-bit tiles: {t:.1f} s")
            return 0
        print(f"load: {args.load} other CPU-bound processes; medians of {args.repeat} runs, seconds")
        extra = " baseline encode | decode | bytes |" if args.baseline else ""
        print("| image | linr encode | linr decode | bytes | JPEG-XL e9 encode | decode | bytes |" + extra)
        print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|" * 3 if args.baseline else ""))
        for name, src in images(tmp).items():
            if args.only and args.only not in name:
                continue
            r = measure_image(src, tmp, args.repeat, None, True)
            lin, jxl = r["linr"], r["jpegxl-e9"]
            row = (f"| {name} | {lin['encode']['wall_s']:.2f} | {lin['decode']['wall_s']:.2f} | {lin['bytes']} | "
                   f"{jxl['encode']['wall_s']:.2f} | {jxl['decode']['wall_s']:.2f} | {jxl['bytes']} |")
            if args.baseline:
                env = child_env(PYTHONPATH=str(args.baseline))
                b = measure_image(src, tmp, args.repeat, None, False, [sys.executable, "-m", "inrcodec"], env,
                                  args.baseline)["linr"]
                row += f" {b['encode']['wall_s']:.2f} | {b['decode']['wall_s']:.2f} | {b['bytes']} |"
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
