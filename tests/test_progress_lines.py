"""Long commands say what they are doing, a line per stage, when stderr is not a terminal."""
import cv2
import numpy as np
import pytest

from inrcodec.cli import main
from inrcodec.quiet import _LineBar, line_progress

pytest.importorskip("torch")


def _images(folder, n=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[:12, :16]
        img = ((x * (i + 2) + y * 3)[..., None] + rng.integers(0, 4, (12, 16, 3))).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), img)
    return folder


def test_prior_train_prints_a_line_per_stage(tmp_path, capsys):
    imgs = _images(tmp_path / "imgs")
    out = tmp_path / "tiles.linrp"
    assert main(["prior", "train", str(imgs), "-o", str(out), "--steps", "16", "--hidden", "4",
                 "--layers", "1", "--validation", "0.34"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "linr: prior train: read 3 images" in err
    assert any(line.startswith("linr: prior train: training 'tiles' on 2 images (1 held out")
               for line in err), err
    steps = [line for line in err if line.startswith("linr: prior train: train tiles: step ")]
    assert [s.split("step ")[1].split(",")[0] for s in steps] == [f"{k}/16" for k in range(2, 17, 2)]
    assert all(s.endswith(" bpp") for s in steps)
    assert any(line.startswith("linr: prior train: validation: coding 1 held-out image") for line in err)
    assert any(line.startswith("wrote ") for line in err)
    assert all("\r" not in line for line in err)            # lines, not bars
    assert out.is_file()


def test_quiet_prints_no_stage_lines(tmp_path, capsys):
    imgs = _images(tmp_path / "imgs", 2)
    assert main(["prior", "train", str(imgs), "-o", str(tmp_path / "p.linrp"), "--steps", "8",
                 "--hidden", "4", "--layers", "1", "--validation", "0", "-q"]) == 0
    err = capsys.readouterr().err
    assert "step " not in err and "read 2 images" not in err


def test_line_bar_eighths_and_early_stop(capsys):
    bar = _LineBar("x", total=80, desc="fit")
    for i in range(30):                  # stops early, as fitting with ber0 does
        bar.update(1)
        bar.set_postfix(bpp=f"{i:.1f}")
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["linr: x: fit: step 10/80, 9.0 bpp", "linr: x: fit: step 20/80, 19.0 bpp",
                     "linr: x: fit: step 30/80, 29.0 bpp"]


def test_line_progress_restores_tqdm():
    import tqdm
    before = tqdm.tqdm
    with line_progress("x"):
        from tqdm import tqdm as inside
        assert inside is not before            # stderr is captured here: not a terminal
    assert tqdm.tqdm is before


def test_single_encode_fit_prints_step_lines(tmp_path, capsys):
    src = tmp_path / "a.png"
    y, x = np.mgrid[:16, :20]
    cv2.imwrite(str(src), np.stack([(x * 5 + y * 3) % 256, (x * y) % 256, (x + 40) % 256], -1)
                .astype(np.uint8))
    assert main(["encode", str(src), str(tmp_path / "a.linr"), "--effort", "3"]) == 0
    err = capsys.readouterr().err.splitlines()
    fits = [line for line in err if line.startswith(f"linr: encode {src}: fit ")]
    assert fits and all(" step " in line for line in fits), err


def test_line_progress_without_bars_leaves_tqdm_alone(capsys):
    """shown=False (-q, or several inputs): tqdm is not patched, and not imported for it."""
    import sys
    before = getattr(sys.modules.get("tqdm"), "tqdm", None)
    with line_progress("encode x", shown=False):
        assert getattr(sys.modules.get("tqdm"), "tqdm", None) is before
    assert capsys.readouterr().err == ""
