"""The palette transform (inrcodec/palette.py, linr.md section 3.1): few-colour images
coded as indices, chosen by measured cost, exact in every image form."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container
from inrcodec.palette import MAX_PALETTE, Palette, build

RNG = np.random.default_rng(11)
DITHER = np.array([[20, 40, 200], [250, 10, 90], [0, 0, 0], [255, 255, 255], [90, 160, 30],
                   [30, 30, 140], [200, 200, 20], [128, 64, 0]], np.uint8)


def dithered(h=64, w=64):
    return DITHER[RNG.integers(0, 8, (h, w))]


def test_dithered_colours_take_the_palette_and_cost_far_less():
    img = dithered()
    auto = inrcodec.encode(img, effort=0)
    never = inrcodec.encode(img, effort=0, palette="never")
    assert inrcodec.info(auto)["palette"] == 8 and inrcodec.info(never)["palette"] is None
    assert container.read(auto).get(b"P") is not None
    assert len(auto) < 0.5 * len(never)
    for data in (auto, never):
        back = inrcodec.decode(data)
        assert back.dtype == img.dtype and np.array_equal(back, img)


@pytest.mark.parametrize("img", [
    np.array([0, 1000, 40000, 65535], np.uint16)[RNG.integers(0, 4, (20, 30))],          # 2-D uint16
    np.array([5, 200], np.uint8)[RNG.integers(0, 2, (9, 7, 1))],                          # H x W x 1
    np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 255, 0, 128]], np.uint8)[RNG.integers(0, 3, (17, 11))],
    np.array([[1, 2], [300, 4000], [9, 9]], np.uint16)[RNG.integers(0, 3, (8, 8))],       # gray + alpha
    np.stack([np.arange(256).reshape(16, 16), 255 - np.arange(256).reshape(16, 16),
              np.zeros((16, 16), int)], 2).astype(np.uint8),                              # 256 colours
], ids=["gray16-2d", "hw1", "rgba", "two-channel-uint16", "256-colours"])
def test_every_form_round_trips_with_a_forced_palette(img):
    data = inrcodec.encode(img, effort=0, palette="always", filter="never")
    info = inrcodec.info(data)
    assert info["palette"] == len(np.unique(img.reshape(-1, img.shape[2] if img.ndim == 3 else 1), axis=0))
    assert info["shape"] == list(img.shape) and info["dtype"] == str(img.dtype)
    back = inrcodec.decode(data)
    assert back.shape == img.shape and back.dtype == img.dtype and np.array_equal(back, img)


def test_colour_order_rgb_is_recorded_not_applied():
    img = dithered(16, 16)
    data = inrcodec.encode(img, effort=0, palette="always", color_order="rgb")
    assert inrcodec.info(data)["color_order"] == "rgb"
    assert np.array_equal(inrcodec.decode(data), img)


def test_images_a_palette_cannot_help_are_left_alone():
    ramp = np.arange(300 * 3, dtype=np.uint16).reshape(10, 30, 3)       # 900 colours
    assert build(ramp) is None
    assert build(np.full((5, 5, 3), 7, np.uint8)) is None                 # 1 colour: constant planes
    assert build(RNG.integers(0, 4, (8, 8)).astype(np.uint8)) is None     # indices as wide as values
    big = RNG.integers(0, 256, (300, 300, 3), dtype=np.uint8)           # refused on its sample
    assert build(big) is None
    data = inrcodec.encode(ramp, effort=0, palette="always", filter="never")
    assert inrcodec.info(data)["palette"] is None


def test_indices_follow_luma():
    table, idx = build(DITHER[np.arange(8)].reshape(2, 4, 3))
    luma = table.colours.astype(int) @ [29, 150, 77]                      # B, G, R
    assert list(luma) == sorted(luma) and table.count == 8 and idx.dtype == np.uint8
    assert np.array_equal(table.apply(idx), DITHER[np.arange(8)].reshape(2, 4, 3))


def test_pack_unpack_and_limits():
    t = Palette(np.array([[1, 2, 3], [4, 5, 6]], np.uint16), True, False, "rgb")
    u = Palette.unpack(t.pack())
    assert np.array_equal(u.colours, t.colours) and (u.wide, u.plain2d, u.order) == (True, False, "rgb")
    assert MAX_PALETTE == 256
    with pytest.raises(inrcodec.FormatError, match="past"):
        t.apply(np.array([[0, 2]], np.uint8))


def test_palette_option_is_checked():
    with pytest.raises(inrcodec.LinrError, match="palette"):
        inrcodec.encode(dithered(8, 8), palette="sometimes")


def test_named_prior_keeps_the_image_channels():
    img = dithered(16, 16)
    data = inrcodec.encode(img, effort=0, prior="photo")
    assert inrcodec.info(data)["palette"] is None and inrcodec.info(data)["prior"] == "photo"


def test_cli_round_trip_and_info(tmp_path, capsys):
    import cv2

    from inrcodec.cli import main
    img = dithered(24, 20)                          # B, G, R as OpenCV reads it
    src, out, back = tmp_path / "in.png", tmp_path / "a.linr", tmp_path / "b.png"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(out), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "palette: 8 colours" in text and "3 channel(s)" in text and "rgb" in text
    assert main(["encode", str(src), str(out), "--effort", "0", "-q", "--force", "--palette", "never"]) == 0
    assert main(["info", str(out)]) == 0
    assert "palette" not in capsys.readouterr().out


def test_sample_limit_applies_to_the_palette_output_in_both_decoders(tmp_path):
    """A 16384 x 8192 index image is within 2^28 samples; its 3-channel output is not:
    both decoders refuse it when the palette chunk is read (spec section 3.1)."""
    from conftest import reference_decoder
    from inrcodec import container
    from inrcodec.palette import Palette
    from inrcodec.wire import Header, ImageInfo
    import inrcodec
    small = inrcodec.encode(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16, effort=0, prior="none")
    box = container.read(small)
    h = Header.unpack(box.get(container.HEADER), box.version)
    colours = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    pal = Palette(colours, False, False, "given")
    info = ImageInfo(8192, 16384, 1, 1, False, True, "given")
    header = Header(info, h.cfg, h.prior, h.seed, b"\0\0\0\0")
    data = container.write([(container.HEADER, header.pack()), (container.PALETTE, pal.pack()),
                            (container.DATA, b"\1\0\0\0")])
    with pytest.raises(inrcodec.LimitError):
        inrcodec.decode(data, max_pixels=1 << 30)
    ref = reference_decoder()
    with pytest.raises(ref.Invalid, match="samples"):
        ref.decode(data, [])


def test_distinct_counts_as_unique_does():
    from inrcodec.palette import _distinct
    rng = np.random.default_rng(3)
    for keys in (np.zeros(0, np.int64), np.array([7]), rng.integers(0, 5, 100), rng.integers(0, 1 << 40, 999),
                 rng.integers(0, 3, (4, 5, 1))):
        assert _distinct(keys) == len(np.unique(keys))
