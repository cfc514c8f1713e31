"""Hostile input and API misuse: only LinrError, bounded reads, image bombs, exact-or-refuse writes."""
import io
import os
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import inrcodec
from inrcodec import imageio, limits, sniff, validate
from inrcodec.errors import FileError, FormatError, ImageError, LimitError, LinrError

ROOT = Path(__file__).resolve().parents[1]
GOOD = dict(effort=0, prior="auto", mode="smallest", seed=0, device="auto")


# -- validate.as_image ---------------------------------------------------------------

def test_as_image_converts_matrix_and_odd_layouts():
    m = np.matrix(np.arange(12, dtype=np.uint8).reshape(3, 4))
    out = validate.as_image(m)
    assert type(out) is np.ndarray and out.shape == (3, 4) and out.flags.c_contiguous
    assert np.array_equal(out, np.asarray(m))
    big_endian = np.arange(6, dtype=">u2").reshape(2, 3) * 300
    out = validate.as_image(big_endian)
    assert out.dtype == np.uint16 and out.dtype.isnative and np.array_equal(out, big_endian)
    view = np.arange(60, dtype=np.uint8).reshape(5, 4, 3)[::-1, ::2]
    out = validate.as_image(view)
    assert out.flags.c_contiguous and np.array_equal(out, view)
    plain = np.zeros((2, 2), np.uint8)
    assert validate.as_image(plain) is plain


@pytest.mark.parametrize("bad", [
    [[1, 2], [3, 4]], (1, 2), None, 3, "img", b"\x00\x01", np.ma.zeros((2, 2), np.uint8),
    np.zeros((2, 2), np.float32), np.zeros((2, 2), np.int32), np.zeros((2, 2), bool),
    np.zeros((2, 2), object), np.zeros((0, 4), np.uint8), np.zeros((4,), np.uint8),
    np.zeros((2, 2, 5), np.uint8), np.zeros((2, 2, 0), np.uint8), np.zeros((1, 2, 2, 1), np.uint8),
    np.zeros((2, 2), [("a", np.uint8)]),
], ids=lambda b: type(b).__name__)
def test_as_image_refuses(bad):
    with pytest.raises(ImageError):
        validate.as_image(bad)


def test_as_image_limits_before_copying():
    huge = np.broadcast_to(np.uint8(0), (limits.MAX_SIDE + 1, 2))
    with pytest.raises(LimitError):
        validate.as_image(huge)
    many = np.broadcast_to(np.uint16(0), (16384, 16385, 1))     # > MAX_SAMPLES (2^28)
    with pytest.raises(LimitError):
        validate.as_image(many)


def test_as_image_foreign_objects():
    class Arrayish:
        def __array__(self, dtype=None, copy=None):
            return np.ones((2, 3), np.uint8)

    class Broken:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("no")

    assert validate.as_image(Arrayish()).shape == (2, 3)
    with pytest.raises(ImageError):
        validate.as_image(Broken())
    with pytest.raises(ImageError):
        validate.as_image(object())


# -- validate.encode_options ----------------------------------------------------------

@pytest.mark.parametrize("change", [
    dict(hidden=1.5), dict(hidden="32"), dict(hidden=True), dict(hidden=0), dict(hidden=10 ** 6),
    dict(layers=2.0), dict(layers=0), dict(layers=99), dict(verify="yes"), dict(verify=2),
    dict(progress=1), dict(device="tpu"), dict(device=None), dict(device=0), dict(effort=True),
    dict(effort=-1), dict(effort=10), dict(effort=2.0), dict(effort="3"), dict(seed=-1),
    dict(seed=2 ** 32), dict(seed=1.0), dict(mode="fast"), dict(mode=None), dict(activation="tanh"),
    dict(activation=1), dict(prior=None), dict(prior=3), dict(prior=""), dict(prior=b""),
    dict(progress="no"), dict(verify=None), dict(verify=0),
], ids=str)
def test_encode_options_refuses(change):
    with pytest.raises(LinrError):
        validate.encode_options(**dict(GOOD, **change))


def test_encode_options_normalises():
    out = validate.encode_options(**dict(GOOD, effort=np.int64(3), hidden=np.uint8(16), layers=2,
                                         verify=np.bool_(True), activation="sine", prior=Path("p.npz")))
    assert out["effort"] == 3 and type(out["effort"]) is int and type(out["hidden"]) is int
    assert out["verify"] is True and out["progress"] is False
    for prior in ("auto", "none", "mnist", b"bytes of a prior file", Path("/x/prior.npz")):
        validate.encode_options(**dict(GOOD, prior=prior))
    assert validate.max_pixels(None) == limits.DEFAULT_MAX_PIXELS
    with pytest.raises(LinrError):
        validate.max_pixels(0)


def test_effort_limit_matches_codec():
    from inrcodec import cli, codec
    assert limits.MAX_EFFORT == codec.MAX_EFFORT == cli.MAX_EFFORT
    assert cli.DEFAULT_EFFORT == codec.DEFAULT_EFFORT


# -- the API, end to end (needs the core to call validate) ------------------------------

def test_encode_matrix_does_not_crash_the_interpreter():
    code = ("import numpy as np, inrcodec\n"
            "m = np.matrix(np.arange(12, dtype=np.uint8).reshape(3, 4))\n"
            "try:\n"
            "    d = inrcodec.encode(m, effort=0)\n"
            "    assert (inrcodec.decode(d) == np.asarray(m)).all(); print('ok')\n"
            "except inrcodec.LinrError as e:\n"
            "    print('refused', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0 and out.stdout.strip().split()[0] in ("ok", "refused")


@pytest.mark.parametrize("change", [dict(hidden=1.5), dict(hidden="32"), dict(layers=2.0),
                                    dict(verify="yes"), dict(device="tpu"), dict(device=None),
                                    dict(progress=2, verify=False)], ids=str)
def test_encode_refuses_bad_options(change):
    with pytest.raises(LinrError):
        inrcodec.encode(np.zeros((3, 3), np.uint8), **dict(effort=0, **change))


@pytest.mark.parametrize("bad", [np.ma.zeros((3, 3), np.uint8), [[1, 2]], np.zeros((3, 3), np.float32)],
                         ids=lambda b: type(b).__name__)
def test_encode_refuses_bad_images(bad):
    with pytest.raises(ImageError):
        inrcodec.encode(bad, effort=0)


@pytest.mark.parametrize("bad", [None, "a.linr", io.BytesIO(b"x"), 3], ids=lambda b: type(b).__name__)
def test_info_refuses_non_bytes(bad):
    with pytest.raises(LinrError):
        inrcodec.info(bad)


# -- bounded reads ----------------------------------------------------------------------------

def test_non_regular_files_refused_without_hanging(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    for path in (fifo, "/dev/zero", tmp_path):
        with pytest.raises(FileError, match="not a regular file"):
            imageio.read_linr_file(path)
        with pytest.raises(FileError, match="not a regular file"):
            imageio.read_image(path)
    assert time.perf_counter() - t0 < 5


def test_size_checked_before_reading(tmp_path):
    big = tmp_path / "big.linr"
    with open(big, "wb") as f:
        f.truncate(limits.MAX_INPUT_BYTES + 1)          # sparse: nothing is really written
    with pytest.raises(LimitError):
        imageio.read_linr_file(big)
    with pytest.raises(LimitError):
        imageio.read_image(big)


def test_signature_checked_first(tmp_path):
    f = tmp_path / "x.linr"
    f.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(FormatError, match="signature"):
        imageio.read_linr_file(f)
    f.write_bytes(b"\x89LNR\r\n\x02")
    assert imageio.read_linr_file(f) == b"\x89LNR\r\n\x02"


@pytest.mark.parametrize("bad", [None, 3, ["a"], "", "a\x00b"], ids=repr)
def test_bad_paths_are_linr_errors(bad, tmp_path):
    with pytest.raises(LinrError):
        imageio.read_image(bad)
    with pytest.raises(LinrError):
        inrcodec.encode_file(bad, tmp_path / "o.linr")
    with pytest.raises(LinrError):
        inrcodec.decode_file(bad, tmp_path / "o.png")


def test_file_functions_raise_only_linr_errors(tmp_path):
    img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), img)
    for call in (lambda: inrcodec.encode_file(tmp_path / "missing.png", tmp_path / "o.linr"),
                 lambda: inrcodec.encode_file(tmp_path, tmp_path / "o.linr"),
                 lambda: inrcodec.encode_file(src, tmp_path),
                 lambda: inrcodec.encode_file(src, tmp_path / "no" / "o.linr"),
                 lambda: inrcodec.encode_file(src, src, force=True),
                 lambda: inrcodec.decode_file(tmp_path / "missing.linr", tmp_path / "o.png"),
                 lambda: inrcodec.decode_file(tmp_path, tmp_path / "o.png"),
                 lambda: inrcodec.decode_file(src, tmp_path / "o.png")):
        with pytest.raises(LinrError):
            call()
    assert np.array_equal(cv2.imread(str(src), cv2.IMREAD_UNCHANGED), img)
    data = inrcodec.encode_file(src, tmp_path / "a.linr", effort=0)
    back = inrcodec.decode_file(tmp_path / "a.linr", tmp_path / "b.tif")
    assert np.array_equal(back, img) and (tmp_path / "a.linr").read_bytes() == data
    with pytest.raises(LimitError):
        inrcodec.decode_file(tmp_path / "a.linr", tmp_path / "c.png", max_pixels=5)
    assert not (tmp_path / "c.png").exists()


# -- image bombs: refused from the header, before pixels are decoded ----------------------------

def _png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))


def _png_bomb(w, h, depth=16, color=6, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    idat = zlib.compress(bytes(1 << 16))
    return (imageio.PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr) + extra + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


@pytest.mark.parametrize("w,h", [(20000, 20000), (16384, 16384), (70000, 1), (1, 70000)])
def test_png_bombs_refused_quickly(w, h, tmp_path):
    f = tmp_path / "bomb.png"
    f.write_bytes(_png_bomb(w, h))
    t0 = time.perf_counter()
    with pytest.raises(LimitError):
        imageio.read_image(f)
    assert time.perf_counter() - t0 < 1


def test_png_header_errors_are_clean():
    with pytest.raises(ImageError, match="IHDR"):
        imageio.image_from_bytes(_png_bomb(4, 4, depth=3, color=2))
    actl = _png_chunk(b"acTL", struct.pack(">II", 3, 0))
    with pytest.raises(ImageError, match="animation"):
        imageio.image_from_bytes(_png_bomb(4, 4, depth=8, color=0, extra=actl))


def _tiff_header(w, h, spp=1, bits=8, pages=1):
    """A classic little-endian TIFF: one IFD (and an empty second one if pages > 1)."""
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, bits), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, spp), (278, 4, 1, h), (279, 4, 1, 0)]
    ifd_at = 8
    nxt = ifd_at + 2 + 12 * len(entries) + 4 if pages > 1 else 0
    out = b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack("<H", len(entries))
    for tag, typ, n, v in entries:
        out += struct.pack("<HHI", tag, typ, n) + (struct.pack("<HH", v, 0) if typ == 3 else struct.pack("<I", v))
    out += struct.pack("<I", nxt)
    if pages > 1:
        out += struct.pack("<H", len(entries))
        for tag, typ, n, v in entries:
            out += struct.pack("<HHI", tag, typ, n) + (struct.pack("<HH", v, 0) if typ == 3 else struct.pack("<I", v))
        out += struct.pack("<I", 0)
    return out + bytes(64)


def test_tiff_bomb_and_pages_small_reader():
    with pytest.raises(LimitError):
        sniff._tiff_header_small(_tiff_header(60000, 60000, 4, 16)).check()
    with pytest.raises(ImageError, match="pages"):
        sniff._tiff_header_small(_tiff_header(4, 4, pages=2)).check()
    g = sniff._tiff_header_small(_tiff_header(5, 6, 2, 16))
    assert (g.width, g.height, g.channels, g.bytes_per_sample) == (5, 6, 2, 2)


def test_tiff_bomb_and_multipage_refused():
    tifffile = pytest.importorskip("tifffile")
    with pytest.raises(LimitError):
        imageio.image_from_bytes(_tiff_header(60000, 60000, 4, 16))
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(np.zeros((4, 4), np.uint8))
        tw.write(np.ones((4, 4), np.uint8))
    with pytest.raises(ImageError, match="2 pages"):
        imageio.image_from_bytes(buf.getvalue())


@pytest.mark.parametrize("header", [b"P5 60000 60000 65535\n", b"P6\n# c\n40000 40000 255\n",
                                    b"P4 70000 2\n", b"P7\nWIDTH 9000\nHEIGHT 9000\nDEPTH 4\nMAXVAL 65535\nENDHDR\n"])
def test_pnm_bombs_refused(header):
    with pytest.raises(LimitError):
        imageio.image_from_bytes(header + bytes(100))


@pytest.mark.parametrize("raw", [b"P5 4 4 255\n" + bytes(3), b"P5 4 4 0\n" + bytes(16), b"P5 x 4 255\n",
                                 b"P2 4", b"BM" + bytes(5), b"\xff\xd8\xff\xe0\x00\x10", b"RIFF\x00\x00\x00\x00WEBP",
                                 b"\x89LNR\r\n\x02", b"", b"hello world"], ids=repr)
def test_corrupt_images_are_image_errors(raw):
    with pytest.raises(ImageError):
        imageio.image_from_bytes(raw)


def test_no_library_noise_on_stderr(capfd):
    for raw in (_png_bomb(4, 4, depth=8, color=0)[:60], imageio.PNG_SIGNATURE + b"\x00" * 40,
                _tiff_header(4, 4)[:30], b"BM" + bytes(60)):
        with pytest.raises(ImageError):
            imageio.image_from_bytes(raw)
    with pytest.raises(ImageError):
        imageio.image_to_bytes(np.zeros((3, 3), np.uint16), ".bmp")
    err = capfd.readouterr().err
    assert err == "", err


# -- writing: exact or refused ------------------------------------------------------------------

IMAGES = {
    "gray8": np.random.default_rng(1).integers(0, 256, (5, 7), dtype=np.uint8),
    "gray16": np.random.default_rng(2).integers(0, 65536, (5, 7), dtype=np.uint16),
    "ga8": np.random.default_rng(3).integers(0, 256, (5, 7, 2), dtype=np.uint8),
    "ga16": np.random.default_rng(4).integers(0, 65536, (5, 7, 2), dtype=np.uint16),
    "rgb8": np.random.default_rng(5).integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "rgb16": np.random.default_rng(6).integers(0, 65536, (5, 7, 3), dtype=np.uint16),
    "rgba8": np.random.default_rng(7).integers(0, 256, (5, 7, 4), dtype=np.uint8),
    "rgba16": np.random.default_rng(8).integers(0, 65536, (5, 7, 4), dtype=np.uint16),
    "c1": np.random.default_rng(9).integers(0, 256, (5, 7, 1), dtype=np.uint8),
    "binary": (np.random.default_rng(10).integers(0, 2, (5, 7)) * 255).astype(np.uint8),
}
EXTS = [".png", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".pam", ".pbm", ".bmp", ".jpg", ".jpeg",
        ".webp", ".avif", ".jp2", ".gif", ".xyz", ".exr"]


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.parametrize("name", sorted(IMAGES))
def test_write_is_exact_or_refused(name, ext, tmp_path):
    img = IMAGES[name]
    dst = tmp_path / f"out{ext}"
    try:
        imageio.write_image(dst, img)
    except ImageError as exc:
        assert "\n" not in str(exc) and not dst.exists()
        assert ext not in (".png", ".tif", ".tiff"), f"PNG and TIFF must always work: {exc}"
        assert list(tmp_path.iterdir()) == []
        return
    back = imageio.read_image(dst)
    expect = img[:, :, 0] if name == "c1" else img
    assert back.dtype == img.dtype and np.array_equal(back, expect)


def test_two_channel_png_is_gray_alpha():
    data = imageio.image_to_bytes(IMAGES["ga16"], ".png")
    assert data[25] == 4 and data[24] == 16                     # IHDR: colour type 4, 16 bits
    via_cv2 = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(via_cv2[:, :, 0], IMAGES["ga16"][:, :, 0])
    assert np.array_equal(via_cv2[:, :, 3], IMAGES["ga16"][:, :, 1])


def test_float_and_lossy_refused(tmp_path):
    with pytest.raises(ImageError, match="float32"):
        imageio.write_image(tmp_path / "f.png", np.zeros((3, 3), np.float32))
    with pytest.raises(ImageError, match="lossy"):
        imageio.write_image(tmp_path / "f.jpg", IMAGES["rgb8"])
    assert list(tmp_path.iterdir()) == []


# -- atomic writes ------------------------------------------------------------------------------

def test_umask_and_forced_mode(tmp_path):
    old = os.umask(0o022)
    try:
        imageio.write_bytes(tmp_path / "a", b"1")
        assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o644
        os.umask(0o077)
        imageio.write_bytes(tmp_path / "b", b"1")
        assert stat.S_IMODE(os.stat(tmp_path / "b").st_mode) == 0o600
        os.chmod(tmp_path / "a", 0o640)
        imageio.write_bytes(tmp_path / "a", b"2", force=True)
        assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o640
        assert (tmp_path / "a").read_bytes() == b"2"
    finally:
        os.umask(old)


def test_exists_refused_without_force(tmp_path):
    (tmp_path / "a").write_bytes(b"keep")
    with pytest.raises(FileError, match="--force"):
        imageio.write_bytes(tmp_path / "a", b"new")
    assert (tmp_path / "a").read_bytes() == b"keep"


def test_symlink_written_through(tmp_path):
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    imageio.write_bytes(link, b"new", force=True)
    assert link.is_symlink() and target.read_bytes() == b"new"
    with pytest.raises(FileError):
        imageio.write_bytes(link, b"newer")


def test_long_names(tmp_path):
    name = "n" * 250 + ".linr"
    imageio.write_bytes(tmp_path / name, b"x")
    assert (tmp_path / name).read_bytes() == b"x"
    with pytest.raises(FileError, match="too long"):
        imageio.write_bytes(tmp_path / ("n" * 300), b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_never_overwrites_input(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(b"image")
    hard = tmp_path / "hard.png"
    os.link(src, hard)
    sym = tmp_path / "sym.png"
    sym.symlink_to(src)
    for dst in (src, hard, sym, tmp_path / "." / "a.png"):
        with pytest.raises(FileError, match="input"):
            imageio.write_bytes(dst, b"x", force=True, inputs=[src])
    assert src.read_bytes() == b"image"


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        imageio.write_bytes(tmp_path / "a", b"data")
    assert list(tmp_path.iterdir()) == []
