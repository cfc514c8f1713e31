"""imageio and its parts (files, sniff, pixels): what importing costs, whole-file functions,
and the file an error is about."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inrcodec import codec, imageio, sniff
from inrcodec.cli import main
from inrcodec.errors import FileError, ImageError

ROOT = Path(__file__).resolve().parents[1]


def test_import_loads_no_opencv_and_leaves_the_environment():
    """Nor does a PNG written and read (pngio); the first format that needs OpenCV sets its
    pixel limit before importing it, unless the user set one."""
    code = ("import os, sys\n"
            "before = dict(os.environ)\n"
            "import inrcodec.imageio, inrcodec.metadata, inrcodec.cli\n"
            "assert 'cv2' not in sys.modules, 'cv2 imported'\n"
            "assert dict(os.environ) == before, 'environment changed'\n"
            "import numpy as np\n"
            "png = inrcodec.imageio.image_to_bytes(np.zeros((2, 3, 3), np.uint16), '.png')\n"
            "assert inrcodec.imageio.image_from_bytes(png).shape == (2, 3, 3)\n"
            "assert 'cv2' not in sys.modules, 'cv2 imported for a PNG'\n"
            "inrcodec.imageio.image_to_bytes(np.zeros((2, 2), np.uint8), '.bmp')\n"
            "print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'])\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(env, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    from inrcodec import limits
    assert out.stdout.strip() == str(limits.MAX_SAMPLES)     # set just before OpenCV's first import
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(env, PYTHONPATH=str(ROOT), OPENCV_IO_MAX_IMAGE_PIXELS="1234"))
    assert kept.returncode == 0 and kept.stdout.strip() == "1234"            # a user's value is kept


def test_image_header_before_pixels():
    png = cv2.imencode(".png", np.zeros((5, 7, 4), np.uint16))[1].tobytes()
    header = sniff.image_header(png)
    assert isinstance(header, sniff.ImageHeader) and imageio.ImageHeader is sniff.ImageHeader
    assert (header.kind, header.width, header.height, header.channels, header.bytes_per_sample,
            header.png_color) == ("PNG", 7, 5, 4, 2, 6)


def test_encode_file_keeps_the_api_bytes_and_the_cli_bytes(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (9, 8, 3), dtype=np.uint8)
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), img)
    api = imageio.encode_file(src, tmp_path / "api.linr", effort=0)
    assert api == codec.encode(img, effort=0) and codec.info(api)["color_order"] == "bgr"
    cli = imageio.encode_file(src, tmp_path / "cli.linr", effort=0, color_order="bgr", keep_metadata=True)
    assert main(["encode", str(src), str(tmp_path / "c.linr"), "--effort", "0", "-q"]) == 0
    assert cli == (tmp_path / "c.linr").read_bytes() == codec.encode(img[..., ::-1], effort=0, color_order="rgb")


@pytest.mark.parametrize("color_order", ["given", "rgb"])
def test_decode_file_writes_the_colours_whatever_order_the_file_states(tmp_path, color_order):
    bgr = np.random.default_rng(1).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    lin = tmp_path / "a.linr"
    lin.write_bytes(codec.encode(bgr if color_order == "given" else bgr[..., ::-1], effort=0,
                                 color_order=color_order))
    back = imageio.decode_file(lin, tmp_path / "a.png")
    assert np.array_equal(back, bgr)                                          # OpenCV's order
    assert np.array_equal(cv2.imread(str(tmp_path / "a.png"), cv2.IMREAD_UNCHANGED), bgr)


def test_errors_name_the_file_they_are_about(tmp_path):
    src, bad = tmp_path / "a.png", tmp_path / "bad.png"
    cv2.imwrite(str(src), np.zeros((3, 3), np.uint8))
    bad.write_bytes(b"BM")
    with pytest.raises(ImageError) as caught:
        imageio.encode_file(bad, tmp_path / "o.linr")
    assert caught.value.path == str(bad)
    (tmp_path / "o.linr").write_bytes(b"x")
    with pytest.raises(FileError, match="exists") as caught:
        imageio.encode_file(src, tmp_path / "o.linr")
    assert caught.value.path == str(tmp_path / "o.linr")
    lin = tmp_path / "a.linr"
    imageio.encode_file(src, lin, effort=0)
    with pytest.raises(ImageError, match="lossy") as caught:
        imageio.decode_file(lin, tmp_path / "a.jpg")
    assert caught.value.path == str(tmp_path / "a.jpg") and not (tmp_path / "a.jpg").exists()
