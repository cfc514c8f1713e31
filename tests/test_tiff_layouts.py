"""Every TIFF layout tifffile writes is read by linr as tifffile reads it, or refused in one line.

OpenCV reads a planar 16-bit TIFF (PlanarConfiguration 2) as if its planes were interleaved:
scrambled samples, silently. linr's reader (in OpenCV's B, G, R (, A) order) is compared here
with tifffile's own reading of each file.
"""
import io
import itertools
import sys

import numpy as np
import pytest

from inrcodec import imageio
from inrcodec.cli import main
from inrcodec.errors import ImageError

tifffile = pytest.importorskip("tifffile")

try:
    import imagecodecs  # noqa: F401
    COMPRESSIONS = [None, "zlib", "lzw", "packbits", "zstd", "lzma"]
except ImportError:
    COMPRESSIONS = [None, "zlib", "packbits"]

CHANNELS = [1, 2, 3, 4]


def _layouts():
    for dtype, c, planar, tiled, comp in itertools.product(
            ["uint8", "uint16"], CHANNELS, ["contig", "separate"], [False, True], COMPRESSIONS):
        if c == 1 and planar == "separate":
            continue
        yield dtype, c, planar, tiled, comp


def _tiff(dtype, c, planar, tiled, comp, *, predictor=False, byteorder="<", alpha="unassalpha",
          seed=0, shape=(24, 40)):
    """A TIFF of one layout, and the image it holds (H x W (x C), R, G, B order)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, np.iinfo(dt).max + 1, shape + ((c,) if c > 1 else ()), dtype=dt)
    kw = {"photometric": "rgb" if c >= 3 else "minisblack", "planarconfig": planar,
          "compression": comp, "byteorder": byteorder}
    if tiled:
        kw["tile"] = (16, 16)
    if predictor:
        kw["predictor"] = True
    if c in (2, 4):
        kw["extrasamples"] = [alpha]
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.moveaxis(img, -1, 0) if planar == "separate" else img, **kw)
    return buf.getvalue(), img


def _tifffile_reading(raw):
    with tifffile.TiffFile(io.BytesIO(raw)) as tif:
        page = tif.pages[0]
        arr, axes = page.asarray(), page.axes
    if axes.startswith("S"):
        arr = np.moveaxis(arr, 0, -1)
    return arr


def _as_opencv(rgb):
    """R, G, B (, A) -> B, G, R (, A): the order linr's reader gives."""
    if rgb.ndim == 3 and rgb.shape[2] in (3, 4):
        return rgb[..., [2, 1, 0, 3][:rgb.shape[2]]]
    return rgb


@pytest.mark.parametrize("layout", list(_layouts()), ids=lambda t: "-".join(map(str, t)))
def test_every_layout_read_as_tifffile_reads_it(layout):
    raw, img = _tiff(*layout)
    ref = _tifffile_reading(raw)
    assert np.array_equal(ref, img)                 # the file holds what was written
    got = imageio.image_from_bytes(raw)
    assert got.dtype == ref.dtype
    assert np.array_equal(got, _as_opencv(ref)), layout


@pytest.mark.parametrize("kw", [{"predictor": True, "byteorder": ">"},
                                {"byteorder": ">"}, {"alpha": "assocalpha"},
                                {"predictor": True, "alpha": "assocalpha", "byteorder": ">"}])
@pytest.mark.parametrize("c", [3, 4])
@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_big_endian_predictor_and_associated_alpha(kw, c, planar):
    comp = "zlib" if kw.get("predictor") else None
    raw, img = _tiff("uint16", c, planar, False, comp, seed=3, **kw)
    assert np.array_equal(imageio.image_from_bytes(raw), _as_opencv(_tifffile_reading(raw)))


def test_planar_16bit_rgb_was_scrambled_by_opencv():
    """The reason for the tifffile path: OpenCV alone gives other samples."""
    import cv2
    raw, img = _tiff("uint16", 3, "separate", False, None, seed=1)
    cv = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    assert cv is None or not np.array_equal(cv, _as_opencv(img))
    assert np.array_equal(imageio.image_from_bytes(raw), _as_opencv(img))


@pytest.mark.parametrize("c", [3, 4])
def test_planar_16bit_round_trips_through_the_cli(tmp_path, c):
    raw, img = _tiff("uint16", c, "separate", False, "zlib", seed=2, shape=(12, 10))
    src, lin, back = tmp_path / "a.tif", tmp_path / "a.linr", tmp_path / "b.tif"
    src.write_bytes(raw)
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    assert np.array_equal(tifffile.imread(back), img)


def test_planar_16bit_refused_in_one_line_without_tifffile(tmp_path, monkeypatch, capsys):
    raw, _img = _tiff("uint16", 3, "separate", False, None, seed=4)
    src = tmp_path / "planar.tif"
    src.write_bytes(raw)
    monkeypatch.setitem(sys.modules, "tifffile", None)             # import tifffile -> ImportError
    with pytest.raises(ImageError, match="tifffile"):
        imageio.image_from_bytes(raw)
    assert main(["encode", str(src), str(tmp_path / "a.linr"), "--effort", "0", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"linr: {src}: ") and "planar" in err[0]
    assert not (tmp_path / "a.linr").exists()
    # 8-bit planar: OpenCV reads it right, tifffile is not needed
    raw8, img8 = _tiff("uint8", 3, "separate", False, None, seed=5)
    assert np.array_equal(imageio.image_from_bytes(raw8), _as_opencv(img8))


def test_planar_16bit_cmyk_refused_in_one_line():
    img = np.random.default_rng(6).integers(0, 65536, (4, 8, 8), dtype=np.uint16)
    buf = io.BytesIO()
    tifffile.imwrite(buf, img, photometric="separated", planarconfig="separate")
    with pytest.raises(ImageError, match="planar 16-bit TIFF with photometric 5"):
        imageio.image_from_bytes(buf.getvalue())
