"""decode(reduce=r): every r-th row and column of the image, exactly, from the coarse
passes alone (formats/linr.md: the passes run coarse to fine)."""
import numpy as np
import pytest

import inrcodec
from inrcodec import decoder
from inrcodec.oracle import ORACLE


def photo_like(h, w, c, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    top = 255 if dtype == np.uint8 else 4095
    base = (x * 3 + y * 2)[..., None] + np.arange(c) * 40
    img = (base + rng.integers(0, top // 16, (h, w, c))) % (top + 1)
    return img.astype(dtype) if c > 1 else img[:, :, 0].astype(dtype)


@pytest.mark.parametrize("shape,dtype", [((70, 93, 3), np.uint8), ((64, 64, 1), np.uint16),
                                         ((33, 129, 4), np.uint8), ((300, 260, 3), np.uint8)])
@pytest.mark.parametrize("reduce", [1, 2, 4, 8, 32, 64, 256])
def test_preview_is_the_subsampled_image(shape, dtype, reduce):
    img = photo_like(*shape, dtype=dtype)
    data = inrcodec.encode(img, effort=0)
    back = inrcodec.decode(data, reduce=reduce)
    assert back.dtype == img.dtype and np.array_equal(back, img[::reduce, ::reduce])
    assert back.flags.c_contiguous


def test_preview_with_palette_colour_order_and_the_oracle():
    img = (photo_like(40, 50, 3) // 64 * 64).astype(np.uint8)        # few colours: a palette
    data = inrcodec.encode(img, effort=0, color_order="rgb", palette="always")
    assert inrcodec.info(data)["palette"]
    for r in (2, 4):
        assert np.array_equal(inrcodec.decode(data, reduce=r), img[::r, ::r])
        assert np.array_equal(inrcodec.decode(data, reduce=r, color_order="bgr"), img[::r, ::r, ::-1])
        assert np.array_equal(decoder.decode(data, max_pixels=1 << 20, reduce=r, backend=ORACLE),
                              img[::r, ::r])


def test_preview_walks_a_fraction_of_the_pixels():
    """A 1/8 preview walks the grid and the passes of level 3 and above: 1/64 of the pixels."""
    from inrcodec.walker import Geometry, chunk_order
    full = sum(min(p.count - s, 1 << 16) for p, s in chunk_order(Geometry(256, 256, 3, 8)))
    part = sum(min(p.count - s, 1 << 16) for p, s in chunk_order(Geometry(256, 256, 3, 8), 3))
    assert full == 256 * 256 and part == 32 * 32


@pytest.mark.parametrize("bad", [0, 3, 6, -2, 1.0, True, "2", 1 << 17])
def test_reduce_must_be_a_power_of_two(bad):
    data = inrcodec.encode(photo_like(8, 8, 1), effort=0)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(data, reduce=bad)


def test_cli_scale(tmp_path):
    import cv2
    from inrcodec.cli import main
    img = photo_like(70, 93, 3)
    src, linr, out = tmp_path / "a.png", tmp_path / "a.linr", tmp_path / "a4.png"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(linr), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(linr), str(out), "--scale", "1/4", "-q"]) == 0
    assert np.array_equal(cv2.imread(str(out)), img[::4, ::4])
    assert main(["decode", str(linr), str(tmp_path / "b.png"), "--scale", "1/3", "-q"]) == 2
    assert not (tmp_path / "b.png").exists()
