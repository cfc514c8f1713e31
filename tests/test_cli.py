"""The linr command line: round trips, one-line errors, no partial outputs."""
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import DATA
import inrcodec
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


# -- hostile use (issue 10): pipes, non-regular files, names, modes, noise, signals -------------

def _run(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "inrcodec.cli", *args], env=env, capture_output=True,
                          timeout=300, **kw)


def _one_line(stderr) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linr: "), text
    assert "Traceback" not in text and "[ WARN" not in text and "libpng" not in text
    return lines[0]


def test_pipes_stdin_stdout_and_json(png, tmp_path):
    src, img = png
    enc = _run(["encode", "-", str(tmp_path / "a.linr"), "--effort", "0", "-q"], input=src.read_bytes())
    assert enc.returncode == 0, enc.stderr
    data = (tmp_path / "a.linr").read_bytes()
    dec = _run(["decode", str(tmp_path / "a.linr"), "-", "-q"])
    assert dec.returncode == 0 and dec.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(cv2.imdecode(np.frombuffer(dec.stdout, np.uint8), cv2.IMREAD_UNCHANGED), img)
    dec2 = _run(["decode", "-", "-", "-q"], input=data)
    assert dec2.returncode == 0 and dec2.stdout == dec.stdout
    enc2 = _run(["encode", str(src), "-", "--effort", "0", "-q"])
    assert enc2.returncode == 0 and enc2.stdout == data
    info = _run(["info", "--json", "-"], input=data)
    assert info.returncode == 0
    meta = json.loads(info.stdout)
    assert (meta["width"], meta["height"], meta["channels"], meta["file"]) == (11, 14, 3, "stdin")
    bad = _run(["info", "-"], input=b"not a linr file at all")
    assert bad.returncode == 1 and "signature" in _one_line(bad.stderr)


def test_info_json_in_process(png, tmp_path, capsys):
    src, _ = png
    out = tmp_path / "a.linr"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    capsys.readouterr()
    assert main(["info", "--json", str(out)]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["width"] == 11 and meta["bytes"] == out.stat().st_size and "chunks" in meta
    assert main(["info", "--json", str(out), str(out)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_non_regular_inputs_refused(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["info", str(fifo)], ["decode", str(fifo), str(tmp_path / "o.png")],
                 ["encode", str(fifo), str(tmp_path / "o.linr")], ["info", "/dev/zero"],
                 ["encode", "/dev/zero", str(tmp_path / "o.linr")]):
        code, err = _one_line_error(args, capsys)
        assert code == 1 and "not a regular file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_output_modes_names_and_input_protection(png, tmp_path, capsys):
    src, img = png
    lin = tmp_path / "a.linr"
    old = os.umask(0o022)
    try:
        assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
        assert stat.S_IMODE(lin.stat().st_mode) == 0o644
        out = tmp_path / "b.png"
        assert main(["decode", str(lin), str(out), "-q"]) == 0
        os.chmod(out, 0o640)
        assert main(["decode", str(lin), str(out), "-q", "--force"]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
    finally:
        os.umask(old)
    long = tmp_path / ("x" * 245 + ".linr")
    assert main(["encode", str(src), str(long), "--effort", "0", "-q"]) == 0 and long.exists()
    code, err = _one_line_error(["encode", str(src), str(tmp_path / ("y" * 300)), "--effort", "0"], capsys)
    assert code == 1 and "too long" in err
    before = src.read_bytes()
    for args in (["encode", "--force", str(src), str(src)], ["decode", "--force", str(lin), str(lin)]):
        code, err = _one_line_error(args, capsys)
        assert code == 1 and "input" in err
    assert src.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_lossy_or_too_small_formats_refused(tmp_path, capsys):
    img16 = np.random.default_rng(4).integers(0, 65536, (6, 5, 4), dtype=np.uint16)
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), img16)
    lin = tmp_path / "a.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    for ext in (".jpg", ".webp", ".bmp", ".pgm", ".ppm", ".pbm", ".avif"):
        code, err = _one_line_error(["decode", str(lin), str(tmp_path / f"o{ext}")], capsys)
        assert code == 1 and (".png" in err or ".tif" in err)
        assert not (tmp_path / f"o{ext}").exists()
    for ext in (".png", ".tif"):
        assert main(["decode", str(lin), str(tmp_path / f"o{ext}"), "-q"]) == 0
        assert np.array_equal(cv2.imread(str(tmp_path / f"o{ext}"), cv2.IMREAD_UNCHANGED), img16)


def test_two_channel_images_decode_to_png_and_tif(tmp_path):
    import inrcodec
    img = np.random.default_rng(5).integers(0, 256, (6, 5, 2), dtype=np.uint8)
    lin = tmp_path / "a.linr"
    lin.write_bytes(inrcodec.encode(img, effort=0))
    for ext in (".png", ".tif"):
        assert main(["decode", str(lin), str(tmp_path / f"o{ext}"), "-q"]) == 0
        assert np.array_equal(inrcodec.read_image(tmp_path / f"o{ext}"), img)
        assert main(["encode", str(tmp_path / f"o{ext}"), str(tmp_path / f"o{ext}.linr"), "-q",
                     "--effort", "0"]) == 0


def test_names_with_control_characters_one_line(tmp_path, capsys):
    bad = tmp_path / "new\nline\r\x1b[31m.png"
    code, err = _one_line_error(["encode", str(bad), str(tmp_path / "o.linr")], capsys)
    assert code == 1 and "\\n" in err and "\x1b" not in err


def test_no_library_noise_subprocess(tmp_path):
    path = DATA / "pngsuite" / "xcsn0g01.png"      # libpng prints "IDAT: CRC error" if not silenced
    if not path.exists():
        pytest.skip("PngSuite not available")
    out = _run(["encode", str(path), str(tmp_path / "x.linr"), "-q"])
    assert out.returncode == 1
    _one_line(out.stderr)


def test_no_library_noise_in_process(tmp_path, capfd):
    for path in sorted((DATA / "pngsuite").glob("x*.png")):
        assert main(["encode", str(path), str(tmp_path / "x.linr"), "-q"]) == 1
        err = capfd.readouterr().err
        _one_line(err)
    trunc = tmp_path / "t.tif"
    cv2.imwrite(str(trunc), np.zeros((40, 40), np.uint8))
    trunc.write_bytes(trunc.read_bytes()[:60])
    assert main(["encode", str(trunc), str(tmp_path / "x.linr"), "-q"]) == 1
    _one_line(capfd.readouterr().err)


def test_many_inputs_and_folders(tmp_path, capsys):
    imgs = {f"im{i}": np.random.default_rng(i).integers(0, 256, (5 + i, 6), dtype=np.uint8) for i in range(3)}
    src = tmp_path / "src"
    src.mkdir()
    for k, v in imgs.items():
        cv2.imwrite(str(src / f"{k}.png"), v)
    out, back = tmp_path / "out", tmp_path / "back"
    out.mkdir()
    back.mkdir()
    files = [str(src / f"{k}.png") for k in imgs]
    assert main(["encode", *files[:2], "-o", str(out), "--jobs", "1", "--effort", "0", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["im0.linr", "im1.linr"]
    code, err = _one_line_error(["encode", str(src), "-o", str(out), "--effort", "0"], capsys)
    assert "exists" in err
    assert main(["encode", str(src), "-o", str(out), "--jobs", "1", "--effort", "0", "-q", "--force"]) == 0
    assert main(["decode", str(out), "-o", str(back), "--jobs", "1", "-q"]) == 0
    for k, v in imgs.items():
        assert np.array_equal(cv2.imread(str(back / f"{k}.png"), cv2.IMREAD_UNCHANGED), v)
    code, _ = _one_line_error(["encode", *files], capsys)
    assert code == 2
    code, _ = _one_line_error(["encode", str(src), str(out / "x.linr")], capsys)
    assert code == 2


def test_max_pixels(png, tmp_path, capsys):
    src, img = png
    lin = tmp_path / "a.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    code, err = _one_line_error(["decode", "--max-pixels", "100", str(lin), str(tmp_path / "o.png")], capsys)
    assert code == 1 and "pixels" in err and not (tmp_path / "o.png").exists()
    assert main(["decode", "--max-pixels", "154", str(lin), str(tmp_path / "o.png"), "-q"]) == 0
    assert main(["info", "--max-pixels", "154", str(lin)]) == 0


def test_internal_and_memory_errors(png, tmp_path, capsys, monkeypatch):
    from inrcodec import codec
    src, _ = png
    lin = tmp_path / "a.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0

    def bug(*a, **k):
        raise RuntimeError("a bug\nsecond line")

    def oom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(codec, "info", bug)
    code, err = _one_line_error(["info", str(lin)], capsys)
    assert code == 3 and "internal error (please report)" in err
    monkeypatch.setattr(codec, "decode", oom)
    code, err = _one_line_error(["decode", str(lin), str(tmp_path / "o.png")], capsys)
    assert code == 1 and "out of memory" in err


def _interrupt_after(args, delay, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # SIGINT as a terminal gives it: a shell's background job (pytest run with `&`) starts its
    # children with SIGINT ignored, and a signal before linr's own handler would be lost
    proc = subprocess.Popen([sys.executable, "-m", "inrcodec", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def test_sigint_during_work(tmp_path):
    # the signal must come mid-work: an effort-9 encode of 320x320 noise took 11.4 s on an idle
    # 2-core machine (linr 0.13.1), the signal comes at 5 s, after torch's import, during the
    # fits (192x192 with the signal at 8 s had become a race with the command's exit: 8.1 s)
    img = np.random.default_rng(0).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    src = tmp_path / "big.png"
    cv2.imwrite(str(src), img)
    out = tmp_path / "big.linr"
    code, err = _interrupt_after(["encode", str(src), str(out), "--effort", "9", "-q"], 5.0, tmp_path)
    assert code == 130 and err.strip() == "linr: interrupted", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png"]


def _complete(out, img) -> bool:
    back = (inrcodec.decode(out.read_bytes(), color_order="bgr") if out.suffix == ".linr"
            else inrcodec.read_image(str(out)))
    return back.shape == img.shape and bool((back == img).all())


def _before_linr(err: str) -> bool:
    """A KeyboardInterrupt traceback whose frames are all the interpreter's start-up
    (runpy, site, frozen importlib) or the two-line `python -m inrcodec` shim, before
    linr's own handling begins."""
    frames = re.findall(r'File "([^"]+)"', err)
    shim = ("inrcodec/__init__.py", "inrcodec/__main__.py", "inrcodec/errors.py", "inrcodec/limits.py")
    # (with no frames at all: "Could not import runpy module", the interpreter's own)
    return ("KeyboardInterrupt" in err
            and all(f.startswith("<frozen") or "runpy" in f or "site" in f or f.endswith(shim) for f in frames))


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_sigint_at_many_moments(tmp_path, command):
    """Ctrl-C from the first imports to the end: every run ends finished (0), or with
    exit 130, `linr: interrupted` alone, and never a partial output or a temporary file. (A signal
    during the interpreter's own start-up, before any of linr runs, kills it: -SIGINT, or
    Python's fatal error in its site import.)"""
    img = np.random.default_rng(1).integers(0, 256, (300, 280, 3), dtype=np.uint8)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), img)
    linr = tmp_path / "in.linr"
    inrcodec.encode_file(str(src), str(linr), effort=0)
    args = ["decode", str(linr)] if command == "decode" else ["encode", str(src), "--effort", "0"]
    seen = set()
    for i, delay in enumerate([0.0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 0.9, 1.3]):
        out = tmp_path / f"out{i}.{'png' if command == 'decode' else 'linr'}"
        code, err = _interrupt_after([*args, str(out), "-q"], delay, tmp_path)
        seen.add(code)
        if code == 130:
            assert err.strip() == "linr: interrupted", (delay, err)
            # nothing, or (a signal between the rename and the exit) the whole output
            assert not out.exists() or _complete(out, img), delay
        elif code == -signal.SIGINT or "Fatal Python error" in err or _before_linr(err):
            # the interpreter's own start-up (nothing written), or its shutdown after
            # linr had finished (the whole output written)
            assert not out.exists() or _complete(out, img), (delay, err)
        else:
            assert code == 0 and _complete(out, img), (delay, code, err)
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], delay   # no temporary left
    assert 130 in seen


def test_sigint_at_many_moments_of_prior_train(tmp_path):
    """The same for `linr prior train`: from the imports, through torch's import, to training."""
    from inrcodec import priors
    folder = tmp_path / "tiles"
    folder.mkdir()
    rng = np.random.default_rng(3)
    y, x = np.mgrid[:40, :48]
    for i in range(6):
        cv2.imwrite(str(folder / f"t{i}.png"), (x * (40 + 9 * i) + y * 70 + rng.integers(0, 300, x.shape))
                    .astype(np.uint16))
    seen = set()
    for i, delay in enumerate([0.0, 0.05, 0.15, 0.3, 0.6, 1.0, 1.6, 2.5, 4.0]):
        out = tmp_path / f"p{i}.linrp"
        code, err = _interrupt_after(["prior", "train", str(folder), "-o", str(out), "--steps", "3000", "-q"],
                                     delay, tmp_path)
        seen.add(code)
        if code == 130:
            assert err.strip() == "linr: interrupted", (delay, err)
            assert not out.exists(), delay
        else:
            assert code == -signal.SIGINT or "Fatal Python error" in err or _before_linr(err), (delay, code, err)
            assert not out.exists() or priors.load(str(out)), delay
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles"], delay
    assert 130 in seen


def test_prior_train_encode_decode(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LINR_PRIOR_PATH", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    rng = np.random.default_rng(3)
    folder = tmp_path / "tiles"
    folder.mkdir()
    y, x = np.mgrid[:20, :24]
    for i in range(5):
        tile = (x * (40 + 9 * i) + y * 70 + rng.integers(0, 30, x.shape)).astype(np.uint16)
        cv2.imwrite(str(folder / f"t{i}.png"), tile)
    prior = tmp_path / "tiles.linrp"
    args = ["prior", "train", str(folder), "-o", str(prior), "--steps", "20", "--hidden", "8",
            "--layers", "1", "-q"]
    assert main(args) == 0
    text = capsys.readouterr().err
    # one of the five held out, its cost beside the built-in 1-channel priors and JPEG-XL
    assert "trained on 4 images" in text and "validation (1 held-out images)" in text
    for label in ("tiles (new)", "gray16", "photo-gray", "JPEG-XL e9"):
        assert label in text
    assert main(args) == 1 and "--force" in capsys.readouterr().err          # no overwrite
    src, out, back = folder / "t0.png", tmp_path / "t0.linr", tmp_path / "t0.png"
    assert main(["encode", str(src), str(out), "--prior", str(prior), "--effort", "0", "-q"]) == 0
    tag = hashlib.sha256(prior.read_bytes()).hexdigest()[:16]
    assert main(["decode", str(out), str(back), "-q"]) == 1                   # the prior is needed
    err = capsys.readouterr().err
    assert tag in err and len(err.strip().splitlines()) == 1 and not back.exists()
    assert main(["decode", str(out), str(back), "--prior", str(prior), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), cv2.imread(str(src), cv2.IMREAD_UNCHANGED))


def test_prior_train_relu16_gives_a_grid_prior_that_codes(tmp_path, capsys):
    """`--activation relu16` trains on the 16-bit grid: the prior declares relu16, its weights
    are on the grid (the loader checks), and a file coded with it declares relu16 and decodes
    in both decoders."""
    from conftest import reference_decoder
    from inrcodec import priors
    folder = tmp_path / "tiles"
    folder.mkdir()
    y, x = np.mgrid[:20, :24]
    for i in range(3):
        cv2.imwrite(str(folder / f"t{i}.png"), ((x * (5 + i) + y * 7) % 256).astype(np.uint8))
    prior = tmp_path / "grid.linrp"
    assert main(["prior", "train", str(folder), "-o", str(prior), "--steps", "20", "--hidden", "9",
                 "--layers", "2", "--activation", "relu16", "--validation", "0", "-q"]) == 0
    p = priors.load(str(prior))
    assert p.cfg.activation == "relu16"
    src, out = folder / "t1.png", tmp_path / "t1.linr"
    assert main(["encode", str(src), str(out), "--prior", str(prior), "--effort", "0", "-q"]) == 0
    data = out.read_bytes()
    assert data[6] == inrcodec.container.VERSION and inrcodec.info(data)["model"]["activation"] == "relu16"
    img = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(inrcodec.decode(data, prior=str(prior)), img)
    ref = reference_decoder()
    assert ref.decode(data, [tmp_path]) == np.ascontiguousarray(img).tobytes()


# -- many files: each output written when ready, a bad file reported and the rest done ---------

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_input_among_many_is_reported_and_the_others_written(tmp_path, capsys, jobs):
    src, out, back = tmp_path / "src", tmp_path / "out", tmp_path / "back"
    for d in (src, out, back):
        d.mkdir()
    imgs = {f"im{i}": np.random.default_rng(i).integers(0, 256, (6, 5 + i, 3), dtype=np.uint8)
            for i in (0, 2)}
    for k, v in imgs.items():
        cv2.imwrite(str(src / f"{k}.png"), v)
    (src / "im1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a png")        # sorted between them
    assert main(["encode", str(src), "-o", str(out), "--jobs", jobs, "--effort", "0", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"linr: {src / 'im1.png'}: ")
    assert sorted(p.name for p in out.iterdir()) == ["im0.linr", "im2.linr"]
    (out / "im1.linr").write_bytes((out / "im0.linr").read_bytes()[:40])     # cut short
    assert main(["decode", str(out), "-o", str(back), "--jobs", jobs, "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"linr: {out / 'im1.linr'}: ")
    assert sorted(p.name for p in back.iterdir()) == ["im0.png", "im2.png"]
    for k, v in imgs.items():
        assert np.array_equal(cv2.imread(str(back / f"{k}.png"), cv2.IMREAD_UNCHANGED), v)


def test_many_inputs_summary_counts_the_failures(tmp_path, capsys):
    good, bad = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(good), np.zeros((4, 4), np.uint8))
    bad.write_bytes(b"")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["encode", str(good), str(bad), "-o", str(out), "--jobs", "1", "--effort", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"{good} -> ") and err[1] == f"linr: {bad}: empty file"
    assert err[2].startswith("1 image in ") and err[2].endswith("; 1 failed")


def test_info_refuses_an_image_over_max_pixels(png, tmp_path, capsys):
    src, _ = png
    lin = tmp_path / "a.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0     # 11 x 14 = 154 pixels
    capsys.readouterr()
    for args in (["info", "--max-pixels", "1", str(lin)], ["info", "--json", "--max-pixels", "153", str(lin)]):
        code, err = _one_line_error(args, capsys)
        assert code == 1 and err == (f"linr: {lin}: image of 11x14 exceeds the decoding budget of "
                                     f"{args[-2]} pixels (raise it with --max-pixels)")
    assert main(["info", "--max-pixels", "154", str(lin)]) == 0 and "11x14" in capsys.readouterr().out


def test_info_goes_on_after_a_bad_file(png, tmp_path, capsys):
    src, _ = png
    lin, bad = tmp_path / "a.linr", tmp_path / "bad.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    bad.write_bytes(b"not a linr file")
    capsys.readouterr()
    assert main(["info", str(bad), str(lin)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"linr: {bad}: not a .linr file (bad signature)"
    assert captured.out.startswith(f"{lin}: 11x14, 3 channel(s), 8-bit (uint8), rgb\n")
    assert "conditioned" not in captured.out


def test_max_pixels_help_shows_the_number(capsys):
    from inrcodec import limits
    assert main(["decode", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"[default: {limits.DEFAULT_MAX_PIXELS}" in text and "limits." not in text


def test_the_command_line_keeps_freed_memory_for_reuse(png, tmp_path, monkeypatch):
    """The CLI owns its process and raises glibc's malloc thresholds there; the
    library (encode/decode called by someone else's program) leaves them alone."""
    import platform

    from inrcodec import allocator
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    src, img = png
    out = tmp_path / "a.linr"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert calls == [1]
    assert np.array_equal(inrcodec.decode(out.read_bytes()), img[:, :, ::-1])
    assert calls == [1]
    monkeypatch.undo()
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert allocator.keep_freed_memory() is True


def test_the_command_ends_without_teardown_but_with_its_exit_handlers():
    """entry.run (the console script, python -m inrcodec) skips the interpreter's teardown: the
    exit handlers still run, the streams are flushed, and the exit code is the command's."""
    script = ("import atexit, sys\n"
              "atexit.register(lambda: print('handlers ran', flush=True))\n"
              "sys.argv = ['linr'] + sys.argv[1:]\n"
              "from inrcodec.entry import run\n"
              "run()\n")
    ok = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "linr, version" in ok.stdout and ok.stdout.endswith("handlers ran\n")
    bad = subprocess.run([sys.executable, "-c", script, "info", "/nonexistent/x.linr"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "handlers ran" in bad.stdout and bad.stderr.count("\n") == 1


def test_the_command_gives_blas_one_thread(monkeypatch):
    """threads.one_blas_thread_for_the_command, the console script's first step: linr's threads
    share the cores, so the command's OpenBLAS has one thread unless the user set a count; the
    bench's timed children get the user's environment back; --threads caps OpenMP at the
    budget and keeps BLAS at one."""
    from inrcodec import threads
    monkeypatch.setitem(threads._STATE, "user_blas", threads._STATE.get("user_blas", "unset"))
    env = {"PATH": "/bin"}
    threads.one_blas_thread_for_the_command(env)
    assert env == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "1"}
    assert threads.user_environment(env) == {"PATH": "/bin"}
    env = {"OPENBLAS_NUM_THREADS": "3"}
    threads.one_blas_thread_for_the_command(env)
    assert env == threads.user_environment(env) == {"OPENBLAS_NUM_THREADS": "3"}
    pytest.importorskip("threadpoolctl")
    script = ("import os, sys, threadpoolctl\n"
              "sys.argv = ['linr', '--threads', '2', 'info', '/nonexistent/x.linr']\n"
              "from inrcodec.entry import run\n"
              "import atexit\n"
              "atexit.register(lambda: print([i['num_threads'] for i in threadpoolctl.threadpool_info()"
              " if i['user_api'] == 'blas'], os.environ['OPENBLAS_NUM_THREADS'], flush=True))\n"
              "run()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"})
    assert out.returncode == 1 and out.stdout.strip().splitlines()[-1] in ("[1] 1", "[] 1")
