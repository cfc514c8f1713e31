"""The linr command line: round trips, one-line errors, no partial outputs."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DATA
from inrcodec.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def png(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (14, 11, 3), dtype=np.uint8)
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), img)
    return path, img


def test_encode_decode_info(png, tmp_path, capsys):
    src, img = png
    out, back = tmp_path / "a.linr", tmp_path / "b.png"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(out), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "11x14" in text and "bpp" in text
    assert main(["info", "--json", str(out)]) == 0


def test_16bit_kept_and_other_formats(tmp_path):
    img = np.random.default_rng(1).integers(0, 65536, (9, 9), dtype=np.uint16)
    src = tmp_path / "g.png"
    cv2.imwrite(str(src), img)
    out = tmp_path / "g.linr"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    for ext in (".png", ".tif", ".pgm"):
        dst = tmp_path / f"back{ext}"
        assert main(["decode", str(out), str(dst), "-q"]) == 0
        assert np.array_equal(cv2.imread(str(dst), cv2.IMREAD_UNCHANGED), img)


def test_no_overwrite_without_force(png, tmp_path, capsys):
    src, _ = png
    out = tmp_path / "a.linr"
    out.write_bytes(b"keep me")
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 1
    assert out.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["encode", str(src), str(out), "--effort", "0", "-q", "--force"]) == 0
    assert out.read_bytes() != b"keep me"


def _one_line_error(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("linr: ") and "\n" not in err and "Traceback" not in err
    return code, err


@pytest.mark.parametrize("path", sorted((DATA / "pngsuite").glob("x*.png")), ids=lambda p: p.name)
def test_corrupt_pngs(path, tmp_path, capsys):
    out = tmp_path / "x.linr"
    _one_line_error(["encode", str(path), str(out), "-q"], capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_linr_files(png, tmp_path, capsys):
    src, _ = png
    good = tmp_path / "good.linr"
    assert main(["encode", str(src), str(good), "--effort", "0", "-q"]) == 0
    data = good.read_bytes()
    rng = np.random.default_rng(3)
    for i in range(40):
        bad = bytearray(data[: int(rng.integers(len(data)))] if i % 2 else data)
        if i % 2 == 0:
            bad[int(rng.integers(len(bad)))] ^= 1 << int(rng.integers(8))
        f = tmp_path / f"bad{i}.linr"
        f.write_bytes(bytes(bad))
        out = tmp_path / f"bad{i}.png"
        _one_line_error(["decode", str(f), str(out), "-q"], capsys)
        assert not out.exists()
        _one_line_error(["info", str(f)], capsys) if i % 2 else None
    leftovers = [p.name for p in tmp_path.iterdir() if p.suffix not in (".linr", ".png")]
    assert leftovers == []


def test_missing_inputs_and_usage(tmp_path, capsys):
    _one_line_error(["encode", str(tmp_path / "nope.png"), str(tmp_path / "o.linr")], capsys)
    _one_line_error(["decode", str(tmp_path / "nope.linr"), str(tmp_path / "o.png")], capsys)
    code, _ = _one_line_error(["encode"], capsys)
    assert code == 2
    _one_line_error(["encode", "--prior", "bogus", str(tmp_path / "x.png"), str(tmp_path / "y")], capsys)


def test_console_script_runs():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "inrcodec.cli", "--version"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "linr" in out.stdout
