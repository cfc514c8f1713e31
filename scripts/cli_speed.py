"""Process wall times of the `linr` command beside JPEG-XL, as users meet them.

    python scripts/cli_speed.py                 # idle machine
    python scripts/cli_speed.py --load 2        # with two other CPU-bound processes running
    python scripts/cli_speed.py --prior-train   # `linr prior train` on 20 16-bit tiles, once
    python scripts/cli_speed.py --baseline /tmp/old   # and another checkout's linr, interleaved

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
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak" / "kodim05.png"

JXL = """
import sys, time, cv2, imagecodecs, numpy as np
img = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
img = img[:, :, ::-1] if img.ndim == 3 else img
data = imagecodecs.jpegxl_encode(np.ascontiguousarray(img), lossless=True, effort=9)
open(sys.argv[2], "wb").write(data)
"""
JXL_DECODE = """
import sys, imagecodecs
imagecodecs.jpegxl_decode(open(sys.argv[1], "rb").read())
"""


def busy(stop):
    while not stop.is_set():
        sum(i * i for i in range(10000))


# as users run it: Python caches the modules' bytecode (an installed package has it from
# pip; an editable one writes it on its first run). With PYTHONDONTWRITEBYTECODE set, as on
# some build machines, every command compiled linr's sources again (50 ms a command here).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd, env=None, cwd=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env or ENV, cwd=cwd)
    return time.perf_counter() - t0


def baseline_runs(folder: Path, src: Path, repeat: int) -> tuple:
    """Encode and decode times of the linr checked out in `folder`, as `python -m inrcodec` run
    there (the folder first on the path, before an installed or editable linr)."""
    env = {**ENV, "PYTHONPATH": str(folder)}
    cmd = [sys.executable, "-m", "inrcodec"]
    with tempfile.TemporaryDirectory() as tmp:
        linr, back = Path(tmp) / "a.linr", Path(tmp) / "b.png"
        enc = [timed(cmd + ["encode", str(src), str(linr), "--force", "-q"], env, folder) for _ in range(repeat)]
        dec = [timed(cmd + ["decode", str(linr), str(back), "--force", "-q"], env, folder) for _ in range(repeat)]
        a, b = cv2.imread(str(src), cv2.IMREAD_UNCHANGED), cv2.imread(str(back), cv2.IMREAD_UNCHANGED)
        assert a.dtype == b.dtype and np.array_equal(a, b), src
        return enc, dec, linr.stat().st_size


def images(folder: Path) -> dict:
    kodak = cv2.imread(str(KODAK))
    y, x = np.mgrid[:256, :256]
    rng = np.random.default_rng(0)
    field = 20000 + 9000 * np.sin(x / 23.0) * np.cos(y / 31.0) + rng.normal(0, 40, (256, 256))
    out = {"kodim05 768x512": kodak, "kodim05 crop 128x128": kodak[192:320, 320:448],
           "16-bit gray 256x256": np.clip(field, 0, 65535).astype(np.uint16)}
    paths = {}
    for name, img in out.items():
        p = folder / (name.split()[0] + name.split()[-1] + ".png")
        cv2.imwrite(str(p), img)
        paths[name] = p
    return paths


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
    args = ap.parse_args()
    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=busy, args=(stop,)) for _ in range(args.load)]
    for h in hogs:
        h.start()
    subprocess.run(["linr", "--help"], check=True, capture_output=True, env=ENV)   # bytecode cached
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if args.prior_train:
                files = [str(f) for f in tiles(tmp)]
                t = timed(["linr", "prior", "train", *files, "-o", str(tmp / "own.linrp"), "-q"])
                print(f"load: {args.load}; linr prior train, 20 128x128 16-bit tiles: {t:.1f} s")
                return 0
            print(f"load: {args.load} other CPU-bound processes; medians of {args.repeat} runs, seconds")
            extra = " baseline encode | decode | bytes |" if args.baseline else ""
            print("| image | linr encode | linr decode | bytes | JPEG-XL e9 encode | decode | bytes |" + extra)
            print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|" * 3 if args.baseline else ""))
            for name, src in images(tmp).items():
                if args.only and args.only not in name:
                    continue
                linr, back, jxl = tmp / "a.linr", tmp / "b.png", tmp / "a.jxl"
                enc = [timed(["linr", "encode", str(src), str(linr), "--force", "-q"]) for _ in range(args.repeat)]
                dec = [timed(["linr", "decode", str(linr), str(back), "--force", "-q"]) for _ in range(args.repeat)]
                a, b = cv2.imread(str(src), cv2.IMREAD_UNCHANGED), cv2.imread(str(back), cv2.IMREAD_UNCHANGED)
                assert a.dtype == b.dtype and np.array_equal(a, b), name
                jenc = [timed([sys.executable, "-c", JXL, str(src), str(jxl)]) for _ in range(args.repeat)]
                jdec = [timed([sys.executable, "-c", JXL_DECODE, str(jxl)]) for _ in range(args.repeat)]
                med = statistics.median
                row = (f"| {name} | {med(enc):.2f} | {med(dec):.2f} | {linr.stat().st_size} | "
                       f"{med(jenc):.2f} | {med(jdec):.2f} | {jxl.stat().st_size} |")
                if args.baseline:
                    benc, bdec, size = baseline_runs(args.baseline, src, args.repeat)
                    row += f" {med(benc):.2f} | {med(bdec):.2f} | {size} |"
                print(row, flush=True)
    finally:
        stop.set()
        for h in hogs:
            h.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
