"""Peak memory of `inrcodec.decode` against the size of its output (issue 21's
"decode memory <= 1.2x the output array plus a constant").

    python scripts/decode_memory.py SIDE [--channels 4] [--values 800] [--group-size 1024]

Makes a SIDE x SIDE 16-bit image whose samples take `values` levels spread with
gaps over 0..65535 (a smooth field plus noise, so no plane is constant),
encodes it at effort 0 (cached as /tmp/linr_mem_SIDE_....linr), then decodes
it in a new process under /usr/bin/time -v and prints the peak RSS beside the
output's bytes and the same process's RSS before decoding (imports, file).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import resource, sys, numpy as np, inrcodec
data = open(sys.argv[1], 'rb').read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
img = inrcodec.decode(data, max_pixels=1 << 30)
print(before, img.nbytes)
"""


def make(side: int, channels: int, values: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.choice(65536, values, replace=False)).astype(np.uint16)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    out = np.empty((side, side, channels), np.uint16)
    for c in range(channels):
        field = (np.sin(6 * x + c) + np.cos(5 * y - c) + 2) / 4 * (values - 1)
        field += rng.normal(0, values / 50, (side, side)).astype(np.float32)
        out[:, :, c] = levels[np.clip(field, 0, values - 1).astype(np.int64)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("side", type=int)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--values", type=int, default=800)
    ap.add_argument("--group-size", type=int, default=1024)
    a = ap.parse_args()
    path = f"/tmp/linr_mem_{a.side}_{a.channels}_{a.values}_{a.group_size}.linr"
    if not os.path.exists(path):
        import inrcodec
        img = make(a.side, a.channels, a.values)
        data = inrcodec.encode(img, effort=0, group_size=a.group_size)
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
    run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", CHILD, path],
                         capture_output=True, text=True, check=True)
    before, nbytes = map(int, run.stdout.split())
    peak = next(int(line.split()[-1]) * 1024 for line in run.stderr.splitlines()
                if "Maximum resident set size" in line)
    wall = next(line.split()[-1] for line in run.stderr.splitlines() if "Elapsed (wall clock)" in line)
    mib = 1 << 20
    print(f"{path}: {os.path.getsize(path)} bytes; output {nbytes / mib:.1f} MiB; "
          f"RSS before decoding {before / mib:.1f} MiB, peak {peak / mib:.1f} MiB; "
          f"peak - before = {(peak - before) / nbytes:.3f}x the output; wall {wall}")


if __name__ == "__main__":
    main()
