"""The benchmark's linr entry with the real codec: exact round trips, real bytes."""
import json

import numpy as np

from inrcodec.bench.__main__ import main


def test_bench_runs_linr_on_a_folder(tmp_path):
    import cv2
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    out = tmp_path / "out"
    code = main(["run", str(folder), "--codecs", "png,linr", "--linr-opt", "effort=0",
                 "--name", "t", "--out-dir", str(out), "-q"])
    assert code == 0
    result = json.loads((out / "t.json").read_text())
    linr = [r for r in result["records"] if r["codec"] == "linr"]
    assert len(linr) == 2 and all(r["status"] == "ok" and r["bytes"] > 0 for r in linr)
    assert all(abs(r["bpp"] - 8 * r["bytes"] / 120) < 1e-9 for r in linr)
