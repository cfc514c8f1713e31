"""Format 12's raster filters (filters.py, chunk F, linr.md section 3.4): residuals and their
inverse against the spec's raster definition (the reference decoder's), what the encoder
tries and keeps, every path a filtered file can take (palette, value tables, gray copies,
colour order, the oracle, previews, regions, the command line) and the options refused."""
import numpy as np
import pytest

import inrcodec
from conftest import reference_decoder
from inrcodec import decoder
from inrcodec.cli import main
from inrcodec.errors import FormatError, LinrError
from inrcodec.filters import GRADIENT, LEFT, NAMES, UP, Filter, candidates
from inrcodec.limits import DEFAULT_MAX_PIXELS
from inrcodec.oracle import ORACLE
from test_preview import photo_like

ref = reference_decoder()


def wrapping_ramp(h=32, w=32, c=None, dtype=np.uint8, step=1):
    """PngSuite's basn0g08 kind: one ramp running on from row to row, wrapping."""
    y, x = np.mgrid[:h, :w]
    top = np.iinfo(dtype).max
    img = (y * w + x) * step
    if c:
        img = np.stack([img * (k + 1) + 17 * k for k in range(c)], 2)
    return (img % (top + 1)).astype(dtype)


@pytest.mark.parametrize("kind", [LEFT, UP, GRADIENT])
@pytest.mark.parametrize("shape,dtype,bits", [((9, 13), np.uint8, 8), ((7, 5, 3), np.uint8, 5),
                                              ((6, 11, 4), np.uint16, 16), ((10, 3, 1), np.uint16, 12),
                                              ((1, 1), np.uint8, 1), ((1, 17, 2), np.uint16, 9)])
def test_undo_inverts_apply_and_is_the_spec(kind, shape, dtype, bits):
    rng = np.random.default_rng(kind * 100 + bits)
    img = rng.integers(0, 1 << bits, shape).astype(dtype)
    f = Filter(kind, bits)
    residual = f.apply(img)
    assert residual.dtype == img.dtype and residual.shape == img.shape
    assert int(residual.max()) < 1 << bits
    assert np.array_equal(f.undo(residual), img)
    # the spec's raster order, as the reference decoder computes it
    assert np.array_equal(ref.unfilter(residual, kind, bits), img.astype(np.int64))


def test_gradient_is_exact_on_wrapping_planes():
    y, x = np.mgrid[:20, :30]
    plane = ((37 * x + 101 * y + 5) % 4096).astype(np.uint16)
    residual = Filter(GRADIENT, 12).apply(plane)
    assert not residual[1:, 1:].any()                  # only the first row and column hold values
    assert len(np.unique(Filter(LEFT, 12).apply(plane)[:, 1:])) == 1


def test_a_residual_past_the_modulus_is_refused():
    with pytest.raises(FormatError):
        Filter(LEFT, 4).undo(np.array([[3, 16]], np.uint8))
    for bad in (b"\x00\x08", b"\x04\x08", b"\x01\x00", b"\x01\x09", b"\x01", b"\x01\x08\x00"):
        with pytest.raises(FormatError):
            Filter.unpack(bad, wide=False)
    assert Filter.unpack(b"\x03\x10", wide=True) == Filter(GRADIENT, 16)


def test_candidates_are_ramps_not_photographs():
    # the one whose residuals have the least zero-order entropy: left on a ramp running on
    # along its rows (a step of 1 but in the first column), up on rows offset at random and
    # then turned, the gradient on f(x) + g(y)
    assert [f.name for f in candidates(wrapping_ramp())] == ["left"]
    rng = np.random.default_rng(0)
    offset_rows = (np.arange(30) * 3 + rng.integers(0, 256, (32, 1))) % 256     # pp0n6a08's kind
    assert [f.name for f in candidates(offset_rows.astype(np.uint8).T.copy())] == ["up"]
    separable = (rng.integers(0, 256, (1, 30)) + rng.integers(0, 256, (30, 1))) % 256   # f(x) + g(y)
    assert [f.name for f in candidates(separable.astype(np.uint8))] == ["gradient"]
    assert candidates(photo_like(64, 64, 3)) == []
    assert candidates(rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)) == []
    assert candidates(wrapping_ramp(600, 600)) == []            # above TRY_PIXELS: not ranked


@pytest.mark.parametrize("image", [wrapping_ramp(), wrapping_ramp(24, 40, 3), wrapping_ramp(32, 32, 4, np.uint16, 97),
                                   wrapping_ramp(16, 48, 2)], ids=["gray", "rgb", "rgba16", "gray-alpha"])
def test_auto_keeps_a_filter_where_it_pays(image):
    plain = inrcodec.encode(image, filter="never")
    data = inrcodec.encode(image)
    assert inrcodec.info(data)["filter"] is not None and inrcodec.info(plain)["filter"] is None
    assert len(data) < len(plain) * 0.7
    back = inrcodec.decode(data)
    assert back.dtype == image.dtype and np.array_equal(back, image)


def test_auto_leaves_photographs_and_named_priors_alone():
    img = photo_like(48, 64, 3)
    assert inrcodec.encode(img) == inrcodec.encode(img, filter="never")
    ramp = wrapping_ramp(16, 16, 3)
    assert inrcodec.info(inrcodec.encode(ramp, prior="photo-7", effort=0))["filter"] is None
    assert inrcodec.info(inrcodec.encode(ramp, mode="ber0", effort=0, prior="none"))["filter"] is None


@pytest.mark.parametrize("name", list(NAMES.values()))
@pytest.mark.parametrize("case", ["gray2d", "hw1-16", "bgr", "rgb", "palette", "values", "gray-copies",
                                  "gray-copies-alpha"])
def test_forced_filters_round_trip_everywhere(name, case):
    rng = np.random.default_rng(len(case))
    kw = {}
    if case == "gray2d":
        img = photo_like(20, 27, 1)
    elif case == "hw1-16":
        img = photo_like(19, 21, 1, np.uint16)[:, :, None]
    elif case in ("bgr", "rgb"):
        img, kw = photo_like(18, 25, 3), {"color_order": case}
    elif case == "palette":
        img, kw = rng.choice([0, 85, 170, 255], (21, 17, 3)).astype(np.uint8), {"palette": "always"}
    elif case == "values":
        img = (rng.integers(0, 300, (23, 19)) * 211).astype(np.uint16)
    else:
        gray = photo_like(17, 22, 1)
        img = np.stack([gray] * 3 + ([255 - gray] if case.endswith("alpha") else []), 2)
    data = inrcodec.encode(img, effort=0, filter=name, **kw)
    info = inrcodec.info(data)
    assert info["filter"] == name and info["format_version"] == inrcodec.container.VERSION
    if case == "gray-copies":
        assert info["gray_copies"]
    order = case if case in ("bgr", "rgb") else None      # the array's order (the file states R, G, B)
    for backend in (None, ORACLE):
        back = inrcodec.decode(data, color_order=order) if backend is None else \
            decoder.decode(data, max_pixels=DEFAULT_MAX_PIXELS, color_order=order, backend=backend)
        assert back.dtype == img.dtype and np.array_equal(back, img)
    if order:
        other = "rgb" if case == "bgr" else "bgr"
        assert np.array_equal(inrcodec.decode(data, color_order=other), img[:, :, [2, 1, 0]])


def test_previews_and_regions_of_a_filtered_file_are_cut_from_the_image():
    img = wrapping_ramp(70, 90, 3)
    data = inrcodec.encode(img, effort=0, filter="gradient", group_size=32)
    assert inrcodec.info(data)["groups"] == 9
    for r in (2, 8, 64):
        assert np.array_equal(inrcodec.decode(data, reduce=r), img[::r, ::r])
    assert np.array_equal(inrcodec.decode(data, region=(33, 5, 40, 50)), img[5:55, 33:73])
    assert np.array_equal(inrcodec.decode(data, reduce=4, region=(6, 3, 30, 30)), img[4:33:4, 8:36:4])


def test_filter_options_refused():
    with pytest.raises(LinrError, match="filter must be"):
        inrcodec.encode(wrapping_ramp(), filter="paeth")
    with pytest.raises(LinrError, match="unsigned"):
        inrcodec.encode(wrapping_ramp().astype(np.int16) - 100, filter="left")
    signed = (wrapping_ramp().astype(np.int16) - 100)
    assert np.array_equal(inrcodec.decode(inrcodec.encode(signed, effort=0)), signed)   # auto: no filter


def test_command_line_filter_and_info(tmp_path):
    from PIL import Image
    src, out = tmp_path / "ramp.png", tmp_path / "ramp.linr"
    Image.fromarray(wrapping_ramp(40, 40)).save(src)
    assert main(["encode", str(src), str(out), "--filter", "up", "-q"]) == 0
    assert inrcodec.info(out.read_bytes())["filter"] == "up"
    assert main(["decode", str(out), str(tmp_path / "back.png"), "-q"]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png")), wrapping_ramp(40, 40))
    assert main(["encode", str(src), str(tmp_path / "x.linr"), "--filter", "diagonal", "-q"]) == 2


def test_pillow_previews_of_a_filtered_file():
    import io

    from PIL import Image

    import inrcodec.pillow  # noqa: F401  (registers the format)
    img = wrapping_ramp(50, 70, 3)
    data = inrcodec.encode(img, effort=0, filter="gradient", color_order="rgb")
    im = Image.open(io.BytesIO(data))
    assert im.draft("RGB", (18, 13)) == ("RGB", (0, 0, 17.5, 12.5))       # a quarter each way
    assert im.size == (18, 13) and np.array_equal(np.asarray(im), img[::4, ::4])
    box = Image.open(io.BytesIO(data)).reduce(2, (10, 20, 60, 50))
    assert np.array_equal(np.asarray(box), img[20:50:2, 10:60:2])


def test_both_decoders_agree_on_damaged_filtered_files():
    """The filter vectors with their F chunk or any byte changed: inrcodec and the reference
    decoder decode the same pixels or both refuse."""
    import hashlib
    import random
    from pathlib import Path

    from inrcodec import container
    conf = Path(__file__).resolve().parents[1] / "formats" / "conformance"
    files = [p.read_bytes() for p in sorted((conf / "valid").glob("filter-*.linr"))]
    assert len(files) >= 5
    rnd, refused = random.Random(5), 0
    for _ in range(120):
        data = bytearray(rnd.choice(files))
        if rnd.random() < 0.5:                       # the filter's kind or modulus
            at = bytes(data).index(b"F" + container.read(bytes(data)).get(b"F")) + 1
            data[at + rnd.randint(0, 1)] = rnd.randint(0, 20)
        else:
            data[rnd.randrange(7, len(data))] = rnd.randint(0, 255)
        data = bytes(data)
        try:
            out = inrcodec.decode(data)
            ours = hashlib.sha256(out.astype(out.dtype.newbyteorder("<")).tobytes()).hexdigest()   # section 3's bytes
        except LinrError:
            ours = None
        try:
            theirs = hashlib.sha256(ref.decode(data, [ref.DEFAULT_PRIOR_DIR])).hexdigest()
        except ref.Invalid:
            theirs = None
        assert ours == theirs
        refused += ours is None
    assert refused > 60
