"""Start-up cost of `linr decode` against the bare imports it cannot avoid.

Measures, as the median of N fresh processes each:
  baseline: python -c "import numpy, cv2"   (linr 0.4-0.8.1 also needed constriction to decode)
  decode:   python -m inrcodec.cli decode x.linr out.png --force -q   (a 28x28 gray file)
and prints both and their ratio (target: ratio <= 3).

    python scripts/startup_time.py [--runs 5] [--linr]     # --linr: time the installed `linr` script
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "import numpy, cv2"        # the decoder's own imports besides linr

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def median_of(cmd: list, env: dict, runs: int) -> float:
    wall(cmd, env)                                   # warm the OS file cache once
    return statistics.median(wall(cmd, env) for _ in range(runs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--linr", action="store_true", help="time the installed `linr` entry point")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    import numpy as np

    import inrcodec

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as tmp:
        y, x = np.mgrid[:28, :28]
        img = (((x - 14) ** 2 + (y - 14) ** 2) < 80).astype(np.uint8) * 200 + (x * 2).astype(np.uint8)
        src, out = Path(tmp) / "x.linr", Path(tmp) / "out.png"
        src.write_bytes(inrcodec.encode(img, effort=0, prior="none"))
        if args.linr and shutil.which("linr"):
            decode_cmd = [shutil.which("linr")]
        else:
            decode_cmd = [sys.executable, "-m", "inrcodec.cli"]
        decode_cmd += ["decode", str(src), str(out), "--force", "-q"]
        base = median_of([sys.executable, "-c", BASELINE], env, args.runs)
        dec = median_of(decode_cmd, env, args.runs)
        assert np.array_equal(inrcodec.read_image(out), img), "decode gave the wrong image"

    print(f"{BASELINE:<31}: {base * 1000:7.1f} ms (median of {args.runs})")
    label = "linr decode" if len(decode_cmd) == 6 else "python -m inrcodec.cli decode"
    print(f"{label:<31}: {dec * 1000:7.1f} ms (median of {args.runs})")
    ratio = dec / base
    print(f"{'ratio':<31}: {ratio:7.2f}  (target <= 3: {'ok' if ratio <= 3 else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
