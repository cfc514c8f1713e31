"""When each stage of a `linr` command starts and ends, seconds since the process started.

    python scripts/encode_stages.py encode --force -q kodim05.png /tmp/k.linr
    PYTHONPATH=/tmp/old python scripts/encode_stages.py encode ...   # another checkout's

Runs the command in this process as the console script does (inrcodec.entry.main), with
the encoder's stages wrapped to print their start and end on stderr: the palette and
value-table checks, the ranking of the priors, the fit (its steps, the quantisation step
search; the fit's steps run from Encoder._fit's start to Encoder.best_step's), the write and
the verifying decode, each with the CPU time all the process's threads spent in it (twice
its wall time: both cores busy). torch is imported when the command imports
it (in the background while the priors are ranked), as in the command itself.
"""
from __future__ import annotations

import functools
import importlib
import sys
import time

T0 = time.perf_counter()
STAGES = [("inrcodec.palette", "build"), ("inrcodec.values", "build"), ("inrcodec.encoder", "Encoder.rank"),
          ("inrcodec.encoder", "Encoder.fit"), ("inrcodec.encoder", "Encoder._fit"),
          ("inrcodec.encoder", "Encoder.best_step"), ("inrcodec.encoder", "write"),
          ("inrcodec.decoder", "decode")]


def wrap(module: str, qualname: str) -> None:
    owner = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        print(f"{start - T0:7.3f} > {module}.{qualname}", file=sys.stderr)
        try:
            return inner(*args, **kwargs)
        finally:
            end = time.perf_counter()
            print(f"{end - T0:7.3f} < {module}.{qualname} ({end - start:.3f} s, "
                  f"CPU {time.process_time() - cpu:.3f} s)", file=sys.stderr)
    setattr(owner, name, timed)


def main() -> int:
    for module, qualname in STAGES:
        wrap(module, qualname)
    from inrcodec.entry import main as command
    try:
        return command(sys.argv[1:])
    finally:
        print(f"{time.perf_counter() - T0:7.3f} end", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
