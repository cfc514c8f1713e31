"""The Pillow plugin: Image.open / Image.save of .linr files, modes and colour order."""
import io

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import inrcodec  # noqa: E402
import inrcodec.pillow  # noqa: E402,F401  (registers the format)
from inrcodec.errors import ImageError  # noqa: E402

RNG = np.random.default_rng(0)


def smooth(shape, dtype):
    h, w = shape[:2]
    top = np.iinfo(dtype).max
    ramp = np.add.outer(np.arange(h), np.arange(w)) / (h + w) * top * 0.7
    if len(shape) == 3:
        ramp = np.dstack([ramp * (c + 2) / (shape[2] + 2) for c in range(shape[2])])
    return np.clip(ramp + RNG.integers(0, top // 20, shape), 0, top).astype(dtype)


def save_and_open(im, tmp_path, **options):
    path = tmp_path / "x.linr"
    im.save(path, effort=0, **options)
    assert path.read_bytes()[:6] == b"\x89LNR\r\n"
    back = Image.open(path)
    assert back.format == "LINR" and back.get_format_mimetype() == "image/x-linr"
    return path, back


def test_registered():
    assert Image.registered_extensions()[".linr"] == "LINR"
    assert "LINR" in Image.OPEN and "LINR" in Image.SAVE
    assert Image.MIME["LINR"] == "image/x-linr"


def test_rgb8_round_trip(tmp_path):
    rgb = smooth((13, 17, 3), np.uint8)
    path, back = save_and_open(Image.fromarray(rgb), tmp_path)
    assert back.mode == "RGB" and back.size == (17, 13)
    assert np.array_equal(np.asarray(back), rgb)
    # the Python API gives the array as stored; colour order is what the file says
    stored = inrcodec.decode(path.read_bytes())
    order = inrcodec.info(path.read_bytes()).get("color_order", "bgr")
    assert np.array_equal(stored, rgb if order == "rgb" else rgb[..., ::-1])


def test_rgba8_round_trip(tmp_path):
    rgba = smooth((6, 9, 4), np.uint8)
    _, back = save_and_open(Image.fromarray(rgba), tmp_path)
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back), rgba)


def test_gray8_and_la(tmp_path):
    gray = smooth((11, 8), np.uint8)
    _, back = save_and_open(Image.fromarray(gray), tmp_path)
    assert back.mode == "L" and np.array_equal(np.asarray(back), gray)
    la = smooth((5, 7, 2), np.uint8)
    _, back = save_and_open(Image.fromarray(la), tmp_path)
    assert back.mode == "LA" and np.array_equal(np.asarray(back), la)


def test_gray16_round_trip(tmp_path):
    g16 = smooth((10, 12), np.uint16)
    im = Image.fromarray(g16)
    assert im.mode == "I;16"
    path, back = save_and_open(im, tmp_path)
    assert back.mode == "I;16" and back.size == (12, 10)
    out = np.asarray(back)
    assert out.dtype == np.uint16 and np.array_equal(out, g16)
    assert np.array_equal(inrcodec.decode(path.read_bytes()), g16)


def test_16bit_png_through_pillow(tmp_path):
    """A 16-bit gray PNG opened by Pillow (mode I;16 or I) saves exactly."""
    g16 = smooth((7, 9), np.uint16)
    Image.fromarray(g16).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as png:
        png.save(tmp_path / "a.linr", effort=0)
    assert np.array_equal(inrcodec.decode((tmp_path / "a.linr").read_bytes()), g16)


def test_mode_1_and_palette(tmp_path):
    bits = RNG.integers(0, 2, (6, 10)).astype(bool)
    _, back = save_and_open(Image.fromarray(bits), tmp_path)
    assert back.mode == "L" and np.array_equal(np.asarray(back), bits * np.uint8(255))
    rgb = smooth((8, 8, 3), np.uint8)
    pal = Image.fromarray(rgb).quantize(8)
    _, back = save_and_open(pal, tmp_path)
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), np.asarray(pal.convert("RGB")))


def test_bgr_file_from_the_opencv_api_opens_in_rgb(tmp_path):
    """A file written by inrcodec.encode from an OpenCV (BGR) array opens with the right colours."""
    rgb = smooth((6, 5, 3), np.uint8)
    data = inrcodec.encode(np.ascontiguousarray(rgb[..., ::-1]), effort=0)
    if inrcodec.info(data).get("color_order", "bgr") != "bgr":
        pytest.skip("this inrcodec records another colour order for plain arrays")
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), rgb)


def test_16bit_colour_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    rgb16 = smooth((4, 6, 3), np.uint16)
    path = tmp_path / "c16.linr"
    path.write_bytes(inrcodec.encode(rgb16, effort=0))
    # refused at open(): no mode Pillow could report would be the file's
    with pytest.raises(ImageError, match="inrcodec.decode"):
        Image.open(path)
    for shape in ((4, 6, 2), (4, 6, 4)):
        with pytest.raises(ImageError, match=f"16-bit with {shape[2]} channels"):
            Image.open(io.BytesIO(inrcodec.encode(smooth(shape, np.uint16), effort=0)))
    monkeypatch.setattr(inrcodec.pillow, "COLOR16", "reduce")
    im = Image.open(path)
    assert im.mode == "RGB" and im.size == (6, 4) and im.info["linr_dtype"] == "uint16"
    with pytest.warns(UserWarning, match="8 bits"):
        out = np.asarray(im)
    # the API array was stored as given: in RGB order for Pillow if the file says it is BGR
    order = inrcodec.info(path.read_bytes()).get("color_order", "bgr")
    stored_rgb = rgb16[..., ::-1] if order == "bgr" else rgb16
    assert out.dtype == np.uint8 and np.array_equal(out, stored_rgb >> 8)


def test_unsupported_modes_are_refused(tmp_path):
    for im in (Image.new("CMYK", (3, 3)), Image.new("F", (3, 3))):
        with pytest.raises(ImageError, match="cannot save mode"):
            im.save(tmp_path / "bad.linr")


def test_corrupt_file_gives_a_linr_error(tmp_path):
    rgb = smooth((5, 5, 3), np.uint8)
    path, _ = save_and_open(Image.fromarray(rgb), tmp_path)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    with pytest.raises(inrcodec.LinrError):
        Image.open(io.BytesIO(bytes(data))).load()


def test_metadata_chunks_show_in_info():
    from inrcodec import container, metadata

    plain = container.read(inrcodec.encode(smooth((4, 4, 3), np.uint8), effort=0))
    if not hasattr(container, "write") or not hasattr(plain, "in_order"):
        pytest.skip("container API without ancillary chunks")
    icc = bytearray(200)
    icc[36:40] = b"acsp"
    data = container.write(plain.in_order + metadata.to_chunks({"icc": bytes(icc), "text": [("Comment", "hi")]}))
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == bytes(icc) and im.info["Comment"] == "hi"
        assert im.load() is not None and im.mode == "RGB"


def test_draft_and_reduce_decode_a_preview():
    """draft() and reduce() (before load) take linr's preview: every r-th row and column."""
    import io

    import numpy as np
    from PIL import Image

    import inrcodec
    import inrcodec.pillow  # noqa: F401
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:100, :130]
    img = np.stack([(x * 2 + y) % 256, (y * 3) % 256, (x + rng.integers(0, 9, x.shape)) % 256],
                   2).astype(np.uint8)
    data = inrcodec.encode(img, effort=0, color_order="rgb")
    im = Image.open(io.BytesIO(data))
    assert im.draft("RGB", (30, 20)) == ("RGB", (0, 0, 32.5, 25.0))
    assert im.size == (33, 25) and np.array_equal(np.asarray(im), img[::4, ::4])
    reduced = Image.open(io.BytesIO(data)).reduce(2)
    assert reduced.size == (65, 50) and np.array_equal(np.asarray(reduced), img[::2, ::2])
    assert Image.open(io.BytesIO(data)).draft("RGB", (200, 200)) is None     # no smaller preview fits
    loaded = Image.open(io.BytesIO(data))
    loaded.load()
    assert loaded.reduce(2).size == (65, 50)                                    # Pillow's own, after load


def test_reduce_with_a_box_decodes_the_box_alone():
    """reduce(factor, box) with the box's corner on the factor's grid decodes only that box
    (linr's region); any other box is Pillow's own reduce of the whole image."""
    import io

    import numpy as np
    from PIL import Image

    import inrcodec
    import inrcodec.pillow  # noqa: F401
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (100, 130, 3), dtype=np.uint8)
    data = inrcodec.encode(img, effort=0, color_order="rgb", group_size=32)
    box = Image.open(io.BytesIO(data)).reduce(4, (32, 64, 130, 99))
    assert box.size == (25, 9) and np.array_equal(np.asarray(box), img[64:99:4, 32:130:4])
    crop = Image.open(io.BytesIO(data)).reduce(1, (5, 7, 50, 60))
    assert crop.size == (45, 53) and np.array_equal(np.asarray(crop), img[7:60, 5:50])
    other = Image.open(io.BytesIO(data)).reduce(2, (1, 0, 9, 8))           # corner off the grid
    assert other.size == (4, 4)
