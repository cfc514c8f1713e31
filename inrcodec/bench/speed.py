"""The command line's speed, as users meet it: every `linr encode` and `linr decode` a new process
(start-up included), JPEG-XL e9 (imagecodecs, lossless) in a process of its own on the same
image in the same run, medians of `repeat` runs, on an idle machine or beside `load` CPU-bound
processes. Each child's wall time, CPU time (user + system) and peak resident memory come from
the kernel's accounting of that child (os.wait4). Every linr round trip is checked.

    linr bench speed photo.png scan.tif --repeat 5 --name speed-idle --out-dir bench/results
    linr bench speed photo.png --load 2 --preview 8 --name speed-busy
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import BenchError
from .run import MismatchError, machine_info, peak_rss_bytes, same_pixels
from ..threads import user_environment

# JPEG-XL e9 in a process of its own: read the image with OpenCV (the array linr's reader gives,
# B, G, R order turned to R, G, B), encode, write; decode the file back
JXL_ENCODE = """
import sys, cv2, imagecodecs, numpy as np
img = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
img = img[:, :, ::-1] if img.ndim == 3 else img
open(sys.argv[2], "wb").write(imagecodecs.jpegxl_encode(np.ascontiguousarray(img), lossless=True, effort=9))
"""
JXL_DECODE = """
import sys, imagecodecs
imagecodecs.jpegxl_decode(open(sys.argv[1], "rb").read())
"""


def linr_command() -> list[str]:
    """The `linr` console script that pip installed beside this interpreter (this package's), else
    the one on PATH, else this interpreter's `python -m inrcodec`. PATH may find another
    installation's, or a version manager's shim: pyenv's re-executes the command through bash
    and pyenv, 60 ms a command here, which a user of a virtual environment never pays."""
    mine = Path(sysconfig.get_path("scripts")) / ("linr.exe" if os.name == "nt" else "linr")
    found = str(mine) if mine.is_file() else shutil.which("linr")
    return [found] if found else [sys.executable, "-m", "inrcodec"]


def child_env(**extra) -> dict:
    """This process's environment for the timed children, as users run linr: Python caches the
    modules' bytecode (an installed package has it from pip, an editable one writes it on its
    first run); with PYTHONDONTWRITEBYTECODE set, as on some build machines, every command
    would compile linr's sources again (50 ms a command here). Nor the BLAS thread count the
    `linr` command set for itself (threads.one_blas_thread_for_the_command): JPEG-XL's child
    gets the user's."""
    env = {k: v for k, v in user_environment(os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def child(cmd: list[str], env=None, cwd=None) -> dict:
    """Run cmd as a new process (env: child_env()): its wall seconds, CPU seconds and peak RSS
    (bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or child_env(),
                            cwd=cwd)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)     # reaped here, not by Popen
    proc.stderr.close()
    if proc.returncode != 0:
        line = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise BenchError(f"{' '.join(map(str, cmd[-4:]))} failed: {line[0]}")
    return {"wall_s": round(wall, 4), "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "peak_rss_bytes": peak_rss_bytes(usage)}


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10000))


@contextlib.contextmanager
def busy(load: int):
    """`load` CPU-bound processes running for the block (a busy machine)."""
    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(load)]
    for h in hogs:
        h.start()
    try:
        yield
    finally:
        stop.set()
        for h in hogs:
            h.join()


def _read(path: Path):
    import cv2
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _shape(img) -> str:
    """An image's size in words: "768x512, 3 channels, 8-bit"."""
    c = 1 if img.ndim == 2 else img.shape[2]
    return f"{img.shape[1]}x{img.shape[0]}, {c} channel{'s' if c > 1 else ''}, {8 * img.dtype.itemsize}-bit"


def summary(runs: list[dict]) -> dict:
    """Medians over the runs of one measurement (and the largest peak memory)."""
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs), "runs": runs}


def measure_image(src: Path, tmp: Path, repeat: int, preview: int | None, jxl: bool,
                  linr: list[str] | None = None, env=None, cwd=None) -> dict:
    """One image's medians: linr encode, decode (and a 1/preview decode), JPEG-XL e9's. linr:
    the command (linr_command()), run with env and in cwd (another checkout's `python -m
    inrcodec`, say). Each linr run alternates with JPEG-XL's: a machine whose speed drifts
    during the runs (this one's did by 5-10% within a minute) moves both alike."""
    linr = linr or linr_command()
    coded, back, small, j = tmp / "a.linr", tmp / "b.png", tmp / "c.png", tmp / "a.jxl"
    out = {"image": str(src), "linr": {}}
    run = lambda args: child(linr + args, env, cwd)     # noqa: E731
    jxl_runs = {"encode": [], "decode": []}

    def alternate(linr_args, jxl_step):
        runs = []
        for _ in range(repeat):
            runs.append(run(linr_args))
            if jxl and jxl_step:
                script, args = (JXL_ENCODE, [str(src), str(j)]) if jxl_step == "encode" else (JXL_DECODE, [str(j)])
                jxl_runs[jxl_step].append(child([sys.executable, "-c", script, *args]))
        return summary(runs)
    out["linr"]["encode"] = alternate(["encode", str(src), str(coded), "--force", "-q"], "encode")
    out["linr"]["decode"] = alternate(["decode", str(coded), str(back), "--force", "-q"], "decode")
    original, decoded = _read(src), _read(back)
    if original is None or decoded is None or not same_pixels(original, decoded):
        raise MismatchError(f"{src}: linr's round trip is not exact")
    out["shape"] = _shape(original)
    out["linr"]["bytes"] = coded.stat().st_size
    if preview:
        out["linr"][f"decode 1/{preview}"] = alternate(
            ["decode", str(coded), str(small), "--force", "-q", "--scale", f"1/{preview}"], None)
    if jxl:
        out["jpegxl-e9"] = {"encode": summary(jxl_runs["encode"]), "decode": summary(jxl_runs["decode"]),
                            "bytes": j.stat().st_size}
    return out


def run_speed(images: list[Path], *, repeat: int = 3, load: int = 0, preview: int | None = None,
              jxl: bool = True, name: str = "speed", out_dir: str | Path = ".", command=None) -> dict:
    """Time every image (measure_image) with `load` busy processes running; write
    <name>.json and <name>.md to out_dir; the result."""
    started = time.time()
    with busy(load):
        child(linr_command() + ["--help"])              # the bytecode cached before the first timing
        with tempfile.TemporaryDirectory() as tmp:
            records = [measure_image(Path(src), Path(tmp), repeat, preview, jxl) for src in images]
    import inrcodec
    result = {"name": name, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "elapsed_s": round(time.time() - started, 1), "command": command or [],
              "linr": inrcodec.__version__, "linr_command": linr_command(), "repeat": repeat, "load": load,
              "machine": machine_info(), "records": records}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / f"{name}.md").write_text(markdown(result))
    return result


def markdown(result: dict) -> str:
    """A row an image: linr's and JPEG-XL's medians (wall s, CPU %, peak RSS) and bytes."""
    def cell(m):
        return (f"{m['wall_s']:.2f} s ({100 * m['cpu_s'] / m['wall_s']:.0f}%, "
                f"{m['peak_rss_bytes'] / 2**20:.0f} MiB)")
    previews = sorted({k for r in result["records"] for k in r["linr"] if k.startswith("decode 1/")})
    head = ["image", "linr encode", "linr decode", *[f"linr {p}" for p in previews], "linr bytes"]
    jxl = any("jpegxl-e9" in r for r in result["records"])
    if jxl:
        head += ["JPEG-XL e9 encode", "decode", "bytes"]
    lines = [f"### {result['name']}: linr {result['linr']}, {result['load']} other CPU-bound processes, "
             f"medians of {result['repeat']} new processes", "",
             "wall time (CPU time over wall time, peak resident memory)", "",
             f"| {' | '.join(head)} |", "|---|" + "---:|" * (len(head) - 1)]
    for r in result["records"]:
        name = Path(r["image"]).name
        cells = [f"{name} ({r['shape']})" if r.get("shape") else name, cell(r["linr"]["encode"]), cell(r["linr"]["decode"]),
                 *[cell(r["linr"][p]) if p in r["linr"] else "" for p in previews], f"{r['linr']['bytes']:,}"]
        if jxl:
            j = r.get("jpegxl-e9")
            cells += [cell(j["encode"]), cell(j["decode"]), f"{j['bytes']:,}"] if j else ["", "", ""]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"
