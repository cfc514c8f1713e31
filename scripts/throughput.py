"""Images per second through inrcodec.encode_many / decode_many on the first N MNIST test images.

    python scripts/throughput.py -n 200                 # jobs None (default), 1 and 2
    python scripts/throughput.py -n 200 --dask --json out.json

Every round trip is checked (decoded == input, and the bytes equal a jobs=1 encode). Prints a
markdown table: images, jobs, encode img/s, decode img/s. Times include starting the pool
(or, for Dask, not starting the cluster: that is done once, before timing).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inrcodec  # noqa: E402
from inrcodec import batch  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip or not) as an (N, H, W) uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08":
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if ndim != 3 or data.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: IDX shape mismatch {dims}")
    return data.reshape(dims)


def git_commit() -> str:
    if os.environ.get("LINR_COMMIT"):              # when measuring an exported snapshot
        return os.environ["LINR_COMMIT"]
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "inrcodec"], capture_output=True, text=True).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(images, label, options, reference, **where):
    t0 = time.perf_counter()
    datas = inrcodec_encode_many(images, options, **where)
    t1 = time.perf_counter()
    decoded = batch.decode_many(datas, **where)
    t2 = time.perf_counter()
    if reference is not None and datas != reference:
        raise SystemExit(f"{label}: encoded bytes differ from the jobs=1 encode")
    for i, (a, b) in enumerate(zip(images, decoded)):
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
            raise SystemExit(f"{label}: image {i} does not round-trip")
    n = len(images)
    return datas, {"images": n, "jobs": label, "encode_s": t1 - t0, "decode_s": t2 - t1,
                   "encode_img_s": n / (t1 - t0), "decode_img_s": n / (t2 - t1),
                   "bytes": sum(map(len, datas))}


def inrcodec_encode_many(images, options, **where):
    return batch.encode_many(images, **where, **options)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="first N test images (default 200)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST t10k images IDX")
    ap.add_argument("--jobs", type=int, nargs="+", default=[0, 1, 2],
                    help="0 is the default jobs=None (default: 0 1 2)")
    ap.add_argument("--effort", type=int, default=None, help="encoder effort (default: codec's)")
    ap.add_argument("--dask", action="store_true", help="also a LocalCluster (2 workers x 1)")
    ap.add_argument("--start-method", choices=["fork", "forkserver", "spawn"],
                    help="override the pool start method (for comparisons)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    if args.start_method:
        batch._START_METHOD.update(encode=args.start_method, decode=args.start_method)
    images = list(read_idx(args.data)[: args.n])
    options = {} if args.effort is None else {"effort": args.effort}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rows, reference = [], None
    for jobs in args.jobs:
        datas, row = measure(images, str(jobs or "None"), options, reference, jobs=jobs or None)
        reference = reference or datas
        rows.append(row)
    if args.dask:
        from dask.distributed import Client, LocalCluster
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(lambda: __import__("inrcodec"))          # warm the workers' imports
            _, row = measure(images, "dask 2x1", options, reference, client=client)
            rows.append(row)

    meta = {"commit": git_commit(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "machine": platform.machine(),
            "start_method": dict(batch._START_METHOD), "options": options,
            "data": str(args.data), "loadavg_1min_before": load0,
            "loadavg_1min_after": os.getloadavg()[0] if load0 is not None else None}
    print(f"commit {meta['commit']}, {meta['cpus']} CPUs, start methods {meta['start_method']}, "
          f"1-min load average {meta['loadavg_1min_before'] or 0:.1f} before, "
          f"{meta['loadavg_1min_after'] or 0:.1f} after")
    print()
    print("| images | jobs | encode img/s | decode img/s |")
    print("|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['images']} | {r['jobs']} | {r['encode_img_s']:.2f} | {r['decode_img_s']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
