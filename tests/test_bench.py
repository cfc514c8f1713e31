"""Tests of the benchmark package (inrcodec/bench/): fast, synthetic images, outputs under tmp_path."""

import json
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from inrcodec.bench import BenchError, datasets  # noqa: E402
from inrcodec.bench.__main__ import main  # noqa: E402
from inrcodec.bench.codecs import CLASSICAL, PNG, Codec, make_codec, parse_options  # noqa: E402
from inrcodec.bench.run import MismatchError, measure, run_benchmark, same_pixels  # noqa: E402


def smooth(shape, dtype, seed=0):
    """A small smooth-plus-noise test image (compressible, but not trivially)."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    top = 255 if dtype == np.uint8 else 65535
    ramp = np.add.outer(np.arange(h), np.arange(w)) / (h + w) * top * 0.8
    if len(shape) == 3:
        ramp = np.dstack([ramp * (c + 1) / shape[2] for c in range(shape[2])])
    noise = rng.integers(0, top // 10, shape)
    return np.clip(ramp + noise, 0, top).astype(dtype)


IMAGES = {
    "gray8": smooth((16, 20), np.uint8),
    "rgb8": smooth((12, 10, 3), np.uint8),
    "gray16": smooth((16, 12), np.uint16),
}


def write_folder(folder: Path, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i}.png"), smooth((10, 14, 3), np.uint8, seed=i))
    return folder


def fake_inrcodec(monkeypatch, wrong=False):
    """Install a stand-in `inrcodec` module (PNG inside) and return it; records its calls."""
    mod = types.ModuleType("inrcodec")
    mod.__version__ = "0.0-fake"
    mod.calls = []

    def encode(img, **options):
        mod.calls.append(options)
        return PNG().encode(img)

    def decode(data):
        out = PNG().decode(data)
        return out ^ 1 if wrong else out  # `wrong`: flips the lowest bit of every sample

    mod.encode, mod.decode = encode, decode
    mod.ImageError = mod.LimitError = ValueError        # what linr refuses images with
    monkeypatch.setitem(sys.modules, "inrcodec", mod)
    return mod


# ---------------------------------------------------------------- codecs


@pytest.mark.parametrize("codec_name", CLASSICAL)
@pytest.mark.parametrize("kind", list(IMAGES))
def test_classical_codecs_round_trip(codec_name, kind):
    codec, img = make_codec(codec_name), IMAGES[kind]
    rec = measure(codec, kind, img, "sha")
    if codec_name == "webp" and kind == "gray16":
        assert not codec.applicable(img)
        assert rec["status"] == "n/a" and rec["bpp"] is None and rec["bytes"] is None
    else:
        assert rec["status"] == "ok", rec["reason"]
        assert rec["bpp"] > 0
        assert same_pixels(img, codec.decode(codec.encode(img), img.shape))


def test_bpp_is_whole_file_bits_per_pixel():
    img = IMAGES["rgb8"]
    rec = measure(PNG(), "x", img, "sha")
    n_bytes = len(PNG().encode(img))
    assert rec["bytes"] == n_bytes
    assert rec["bpp"] == 8 * n_bytes / (12 * 10)


def test_library_error_is_not_applicable():
    class Refuses(Codec):
        name = "refuses"

        def encode(self, img):
            raise ValueError("no thanks")

    rec = measure(Refuses(), "x", IMAGES["gray8"], "sha")
    assert rec["status"] == "n/a" and rec["bpp"] is None and "no thanks" in rec["reason"]


def test_parse_options():
    assert parse_options(["a=1", "b=0.5", "c=x", "d=true"]) == {"a": 1, "b": 0.5, "c": "x", "d": True}
    with pytest.raises(BenchError):
        parse_options(["novalue"])


# ---------------------------------------------------------------- runner


class Wrong(Codec):
    """Returns the wrong pixels: the run must fail."""

    name = "wrong"

    def encode(self, img):
        return img.tobytes()

    def decode(self, data, shape=None):
        out = np.frombuffer(data, np.uint8).reshape(shape).copy()
        out[0, 0] ^= 1
        return out


def test_wrong_pixels_fail_the_run(tmp_path):
    images = [("a", IMAGES["gray8"])]
    kwargs = dict(name="w", dataset={"name": "t"}, out_dir=tmp_path, quiet=True, plot=False)
    with pytest.raises(MismatchError):
        run_benchmark(images, [PNG(), Wrong()], **kwargs)
    result = run_benchmark(images, [PNG(), Wrong()], keep_going=True, **kwargs)
    assert result["failed"] and result["summary"]["wrong"]["mismatches"] == 1
    assert result["summary"]["wrong"]["mean_bpp"] is None  # failures are never averaged in


def test_cli_fails_on_wrong_linr(tmp_path, monkeypatch, capsys):
    fake_inrcodec(monkeypatch, wrong=True)
    folder = write_folder(tmp_path / "imgs")
    argv = ["run", str(folder), "--codecs", "png,linr", "--out-dir", str(tmp_path / "out"), "-q", "--no-plot"]
    assert main(argv) == 1
    assert "MISMATCH" in capsys.readouterr().err
    assert main(argv + ["--keep-going"]) == 1  # recorded, still a failure
    assert "MISMATCH" in (tmp_path / "out" / "imgs.md").read_text()


def test_cli_writes_json_and_markdown(tmp_path, monkeypatch, capsys):
    fake = fake_inrcodec(monkeypatch)
    folder = write_folder(tmp_path / "imgs", n=3)
    out = tmp_path / "out"
    argv = ["run", str(folder), "--codecs", "png,webp,linr", "--linr-opt", "steps=3", "--linr-opt", "lr=0.01",
            "--device", "cpu", "--limit", "2", "--out-dir", str(out), "--name", "t", "-q"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "| png | 2/2 |" in table and "| linr | 2/2 |" in table
    assert fake.calls[0] == {"steps": 3, "lr": 0.01, "device": "cpu"}

    result = json.loads((out / "t.json").read_text())
    assert (out / "t.md").read_text() == table
    assert (out / "t.png").stat().st_size > 0
    assert result["versions"]["inrcodec"] == "0.0-fake"
    assert result["command"][:4] == ["python", "-m", "inrcodec.bench", "run"]
    assert result["machine"]["cpu_count"] >= 1
    assert len(result["records"]) == 2 * 3
    for rec in result["records"]:
        assert rec["bpp"] == 8 * rec["bytes"] / rec["pixels"]
    s = result["summary"]["png"]
    assert s["measured"] == 2
    assert s["mean_bpp"] == pytest.approx(np.mean([r["bpp"] for r in result["records"] if r["codec"] == "png"]))

    # --resume: the cached records are reused, linr is not called again
    n_calls = len(fake.calls)
    assert main(argv + ["--resume", "--no-plot"]) == 0
    assert len(fake.calls) == n_calls
    assert json.loads((out / "t.json").read_text())["summary"] == result["summary"]

    # plotting several runs together
    assert main(["plot", str(out / "t.json"), str(out / "t.json"), "-o", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_table_of_runs(tmp_path, monkeypatch, capsys):
    """`table`: a row a run and a column a codec, figures from the runs' files; the smallest of a
    row in bold; linr against JPEG-XL e9 only where both measured the same images."""
    fake_inrcodec(monkeypatch)
    out = tmp_path / "out"
    for name, n in (("two", 2), ("three", 3)):
        folder = write_folder(tmp_path / name, n=n)
        assert main(["run", str(folder), "--codecs", "png,webp,linr", "--out-dir", str(out), "--name", name,
                     "-q", "--no-plot"]) == 0
    capsys.readouterr()
    files = [str(out / "two.json"), str(out / "three.json")]
    assert main(["table", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("mean bpp")
    assert lines[2] == "| run (images) | png | webp | linr | linr encode / decode, s an image |"
    for line, name in zip(lines[4:], ("two", "three")):
        result = json.loads((out / f"{name}.json").read_text())
        cells = [c.strip() for c in line.strip("|").split("|")]
        bpp = {c: result["summary"][c]["mean_bpp"] for c in ("png", "webp", "linr")}
        assert cells[0] == f"{name} ({result['dataset']['images']})"
        for cell, codec in zip(cells[1:4], ("png", "webp", "linr")):
            bold = bpp[codec] == min(bpp.values())
            assert cell == (f"**{bpp[codec]:.3f}**" if bold else f"{bpp[codec]:.3f}")
        s = result["summary"]["linr"]
        assert cells[4] == f"{s['mean_encode_ms'] / 1000:#.3g} / {s['mean_decode_ms'] / 1000:#.3g}"
    assert main(["table", "--bytes", files[0]]) == 0
    result = json.loads((out / "two.json").read_text())
    png_bytes = sum(r["bytes"] for r in result["records"] if r["codec"] == "png")
    assert f"{png_bytes:,}" in capsys.readouterr().out.splitlines()[4].split("|")[2]
    (tmp_path / "bad.json").write_text("{}")
    assert main(["table", str(tmp_path / "bad.json")]) == 2
    assert capsys.readouterr().err.startswith("bench: not a bench result file")


def test_table_bolds_only_codecs_measured_on_every_image():
    """A codec that took fewer of the run's images, or failed a round trip, has a figure over
    other images: it is marked and never the row's smallest; the ratio needs both on the same."""
    from inrcodec.bench.run import runs_table

    def s(measured, bpp, mismatches=0):
        return {"images": 3, "measured": measured, "mismatches": mismatches, "mean_bpp": bpp,
                "mean_encode_ms": 1500.0, "mean_decode_ms": 250.0}
    result = {"name": "r", "dataset": {"images": 3}, "records": [], "summary": {
        "webp": s(2, 1.0), "jpeg2k": s(3, 1.5, mismatches=1), "jpegxl-e9": s(3, 4.0), "linr": s(3, 3.0)}}
    row = runs_table([result]).splitlines()[-1]
    assert row == ("| r (3) | 1.000 (2 of 3) | 1.500 MISMATCH | 4.000 | **3.000** | 0.750x | 1.50 / 0.250 |")
    result["summary"]["linr"] = s(2, 3.0)
    row = runs_table([result]).splitlines()[-1]
    assert row == ("| r (3) | 1.000 (2 of 3) | 1.500 MISMATCH | **4.000** | 3.000 (2 of 3) |  | 1.50 / 0.250 |")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no-such-dataset"], "unknown dataset"),
        (["run", "kodak", "--codecs", "png,nope"], "unknown codec"),
        (["run", "mnist", "--data", "/nonexistent"], "no t10k-images"),
        (["run", "mnist", "--bogus"], "No such option"),
    ],
)
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench: ") and message in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- datasets


def test_mnist_loader():
    if not (datasets.DATA_ROOT / "mnist").is_dir():
        pytest.skip("shared/data/mnist not present")
    images = list(datasets.load("mnist", limit=3, offset=1))
    assert [n for n, _ in images] == ["t10k-00001", "t10k-00002", "t10k-00003"]
    assert all(a.shape == (28, 28) and a.dtype == np.uint8 for _, a in images)


def test_uncompressed_idx(tmp_path):
    imgs = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + np.array([2, 3, 4], ">u4").tobytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header + imgs.tobytes())
    out = list(datasets.load("fashion-mnist", data=tmp_path))
    assert len(out) == 2 and np.array_equal(out[1][1], imgs[1])


def test_folder_loader_skips_unreadable_and_crops(tmp_path, capsys):
    folder = write_folder(tmp_path, n=2)
    (folder / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "wide16.png"), smooth((6, 30), np.uint16))
    images = dict(datasets.load(str(folder), crop=8))
    assert "skipping unreadable file" in capsys.readouterr().err
    assert sorted(images) == ["img0.png", "img1.png", "wide16.png"]
    assert images["img0.png"].shape == (8, 8, 3)
    assert images["wide16.png"].shape == (6, 8) and images["wide16.png"].dtype == np.uint16
    assert np.array_equal(images["wide16.png"], smooth((6, 30), np.uint16)[:, 11:19])


def test_folder_of_16bit_gray_images(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "g16"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"s{i}.png"), smooth((9, 11), np.uint16, seed=i))
    images = dict(datasets.load(str(folder)))
    assert all(a.dtype == np.uint16 and a.shape == (9, 11) for a in images.values())
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(folder), "--codecs", "png,jpegxl-e7", "--name", "g", "-q", "--no-plot"]) == 0
    result = json.loads((tmp_path / "g.json").read_text())
    assert result["summary"]["jpegxl-e7"]["measured"] == 2


# ------------------------------------------------- a tool: outputs, timings, dependencies


def test_results_go_to_the_current_directory(tmp_path, monkeypatch, capsys):
    folder = write_folder(tmp_path / "imgs")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", str(folder), "--codecs", "png", "-q"]) == 0
    assert sorted(p.name for p in work.iterdir()) == ["imgs.json", "imgs.jsonl", "imgs.md", "imgs.png"]
    result = json.loads((work / "imgs.json").read_text())
    # speed and memory figures: per image and per codec, peak RSS of the process
    for rec in result["records"]:
        assert rec["encode_ms"] >= 0 and rec["decode_ms"] >= 0
    s = result["summary"]["png"]
    assert s["total_encode_s"] == pytest.approx(sum(r["encode_ms"] for r in result["records"]) / 1000, abs=1e-5)
    assert result["resources"]["peak_rss_bytes"] > 10 * 2**20
    assert "Peak resident memory" in (work / "imgs.md").read_text()
    assert main(["plot", "imgs.json"]) == 0 and (work / "plot.png").is_file()
    package = Path(datasets.__file__).parent
    assert not list(package.glob("*.json*"))  # nothing written into the package folder


@pytest.mark.parametrize("missing, argv, hint", [
    ("matplotlib", ["--codecs", "png"], "--no-plot"),
    ("imagecodecs", ["--no-plot"], "--codecs png,linr"),
    ("imagecodecs", ["--codecs", "png,webp", "--no-plot"], "--codecs png,linr"),
])
def test_missing_optional_dependency_is_one_line_at_the_start(missing, argv, hint, tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setitem(sys.modules, missing, None)  # import fails, find_spec says absent
    monkeypatch.chdir(tmp_path)
    folder = write_folder(tmp_path / "imgs")
    monkeypatch.setattr(datasets, "iter_folder", lambda *a: pytest.fail("work started"))
    assert main(["run", str(folder), "-q", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bench: {missing} is not installed; pip install 'linr[bench]'")
    assert hint in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [folder]


def test_png_only_run_without_imagecodecs(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    folder = write_folder(tmp_path / "imgs")
    assert main(["run", str(folder), "--codecs", "png", "--out-dir", str(tmp_path / "o"), "-q", "--no-plot"]) == 0
    assert json.loads((tmp_path / "o" / "imgs.json").read_text())["versions"]["opencv"]


def test_main_records_the_program_name(tmp_path, capsys):
    folder = write_folder(tmp_path / "imgs")
    out = tmp_path / "o"
    assert main(["run", str(folder), "--codecs", "png", "--out-dir", str(out), "-q", "--no-plot"],
                prog="linr bench") == 0
    assert json.loads((out / "imgs.json").read_text())["command"][:3] == ["linr", "bench", "run"]
    assert main(["--help"], prog="linr bench") == 0
    assert "Usage: linr bench" in capsys.readouterr().out


def test_linr_crash_is_a_failure_not_na(monkeypatch):
    import inrcodec
    codec = make_codec("linr")

    def crash(img, **opts):
        raise KeyError(7)
    monkeypatch.setattr(inrcodec, "encode", crash)
    rec = measure(codec, "x", IMAGES["gray8"], "sha")
    assert rec["status"] == "mismatch" and "KeyError" in rec["reason"]

    def refuse(img, **opts):
        raise inrcodec.ImageError("too small")
    monkeypatch.setattr(inrcodec, "encode", refuse)
    assert measure(codec, "x", IMAGES["gray8"], "sha")["status"] == "n/a"


# ---------------------------------------------------------------- the command line's speed


def test_speed_times_new_processes(tmp_path, capsys):
    """`speed`: linr encode and decode as new processes (the installed command), the round trip
    checked, each measurement's wall time, CPU time and peak memory from the kernel, medians."""
    import inrcodec
    src = tmp_path / "small.png"
    cv2.imwrite(str(src), smooth((24, 20, 3), np.uint8))
    argv = ["speed", str(src), "--repeat", "2", "--preview", "2", "--no-jpegxl", "--name", "s",
            "--out-dir", str(tmp_path / "out")]
    assert main(argv) == 0
    table = capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "s.json").read_text())
    assert (tmp_path / "out" / "s.md").read_text() == table
    assert result["linr"] == inrcodec.__version__ and result["repeat"] == 2 and result["load"] == 0
    (rec,) = result["records"]
    from inrcodec.imageio import encode_image_file
    assert rec["linr"]["bytes"] == len(encode_image_file(str(src))[0])     # what `linr encode` writes
    assert set(rec["linr"]) == {"encode", "decode", "decode 1/2", "bytes"} and "jpegxl-e9" not in rec
    for what in ("encode", "decode", "decode 1/2"):
        m = rec["linr"][what]
        assert len(m["runs"]) == 2 and m["wall_s"] > 0 and m["peak_rss_bytes"] > 1 << 20
        assert m["wall_s"] == pytest.approx(sum(r["wall_s"] for r in m["runs"]) / 2)     # median of 2
        assert m["peak_rss_bytes"] == max(r["peak_rss_bytes"] for r in m["runs"])
    assert "| small.png (20x24, 3 channels, 8-bit) |" in table


def test_speed_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "small.png"
    cv2.imwrite(str(src), smooth((8, 8), np.uint8))
    assert main(["speed", str(src), "--preview", "3", "--no-jpegxl"]) == 2
    assert capsys.readouterr().err == "bench: --preview 3 is not a power of two\n"
    from inrcodec.bench.speed import child
    with pytest.raises(BenchError, match="failed: .*no-such-file"):
        child([sys.executable, "-c", "import sys; sys.exit('no-such-file')"])


def test_speed_times_this_installations_linr(tmp_path, monkeypatch):
    """The console script pip put beside this interpreter comes before PATH's (another
    installation's, or a version manager's shim that re-executes through a shell), and
    `python -m inrcodec` when there is neither."""
    import sysconfig

    from inrcodec.bench import speed
    mine, other = tmp_path / "bin", tmp_path / "elsewhere"
    mine.mkdir(), other.mkdir()
    (other / "linr").write_text("#!/bin/sh\n")
    (other / "linr").chmod(0o755)
    monkeypatch.setenv("PATH", str(other))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(mine))
    assert speed.linr_command() == [str(other / "linr")]
    (mine / "linr").write_text("#!/bin/sh\n")
    assert speed.linr_command() == [str(mine / "linr")]
    (mine / "linr").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert speed.linr_command() == [sys.executable, "-m", "inrcodec"]


def test_speed_alternates_linr_and_jpegxl(tmp_path, monkeypatch):
    """Each linr run is followed by JPEG-XL's of the same step (a drifting machine moves both
    alike), and JPEG-XL's children get the user's environment, not the command's BLAS count."""
    pytest.importorskip("imagecodecs")
    from inrcodec import threads
    from inrcodec.bench import speed
    src = tmp_path / "small.png"
    cv2.imwrite(str(src), smooth((16, 12, 3), np.uint8))
    monkeypatch.setitem(threads._STATE, "user_blas", None)      # as if the command had set it
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    seen, child = [], speed.child

    def record(cmd, env=None, cwd=None):
        is_jxl = cmd[:2] == [sys.executable, "-c"]
        seen.append(("jxl " if is_jxl else "linr ") + ("encode" if "encode" in " ".join(cmd[:4]) else "decode"))
        if is_jxl:
            assert "OPENBLAS_NUM_THREADS" not in speed.child_env()
        return child(cmd, env, cwd)
    monkeypatch.setattr(speed, "child", record)
    rec = speed.measure_image(src, tmp_path, 2, None, True)
    assert seen == ["linr encode", "jxl encode"] * 2 + ["linr decode", "jxl decode"] * 2
    assert len(rec["jpegxl-e9"]["encode"]["runs"]) == len(rec["jpegxl-e9"]["decode"]["runs"]) == 2
