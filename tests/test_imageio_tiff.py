"""RGBA TIFFs with unassociated alpha: linr codes the samples stored, not OpenCV's premultiplied ones."""
import sys

import cv2
import numpy as np
import pytest

from inrcodec import imageio
from inrcodec.cli import main

tifffile = pytest.importorskip("tifffile")


def _rgba(seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    img[0, :, 3] = 255                       # some opaque pixels, the rest < 255 mostly
    assert (img[..., 3] < 255).any()
    return img


@pytest.mark.parametrize("kw", [{"extrasamples": ("unassalpha",)}, {},          # tifffile's default
                                {"compression": "zlib", "tile": (16, 16)}])
def test_unassociated_alpha_round_trips_exactly(tmp_path, kw):
    img = _rgba()
    src, lin, back = tmp_path / "a.tif", tmp_path / "a.linr", tmp_path / "a.png"
    tifffile.imwrite(src, img, photometric="rgb", **kw)
    with tifffile.TiffFile(src) as tif:
        assert [int(x) for x in tif.pages[0].extrasamples] == [2]
    # what OpenCV alone gives is premultiplied: the reason for this path
    assert not np.array_equal(cv2.imread(str(src), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]], img)
    assert np.array_equal(imageio.read_image(src), img[..., [2, 1, 0, 3]])    # B, G, R, A as OpenCV
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]], img)


def test_orientation_applied_as_opencv_does(tmp_path):
    img = _rgba(1)
    img[..., 3] = 255                       # opaque: OpenCV's own reading is then exact
    for orientation in (3, 6):
        src = tmp_path / f"o{orientation}.tif"
        tifffile.imwrite(src, img, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
        assert np.array_equal(imageio.read_image(src), cv2.imread(str(src), cv2.IMREAD_UNCHANGED))


def test_refused_in_one_line_without_tifffile(tmp_path, monkeypatch, capsys):
    src, src16 = tmp_path / "a.tif", tmp_path / "b.tif"
    tifffile.imwrite(src, _rgba(), photometric="rgb")
    img16 = np.random.default_rng(2).integers(0, 65536, (8, 8, 4), dtype=np.uint16)
    tifffile.imwrite(src16, img16, photometric="rgb")
    monkeypatch.setitem(sys.modules, "tifffile", None)             # import tifffile -> ImportError
    assert main(["encode", str(src), str(tmp_path / "a.linr"), "--effort", "0", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"linr: {src}: ") and "tifffile" in err[0]
    # 16 bits: OpenCV gives the stored samples, so tifffile is not needed there
    assert np.array_equal(imageio.read_image(src16), img16[..., [2, 1, 0, 3]])


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_quarter_turn_orientation_on_a_non_square_tiff(tmp_path, orientation):
    """Orientations 5-8 swap width and height: read as OpenCV turns them, not refused."""
    img = np.random.default_rng(orientation).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    src = tmp_path / "o.tif"
    tifffile.imwrite(src, img, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    got = imageio.read_image(src)
    assert got.shape == (10, 6, 3)
    assert np.array_equal(got, cv2.imdecode(np.fromfile(src, np.uint8), cv2.IMREAD_UNCHANGED))
    assert sorted(got.reshape(-1, 3).tolist()) == sorted(img[..., ::-1].reshape(-1, 3).tolist())
