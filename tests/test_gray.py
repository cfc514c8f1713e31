"""Gray copies (format 9, chunk G, linr.md section 3.3): an RGB or RGBA image whose colour
channels are equal is coded as its gray (+ alpha) image and expanded when decoded."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container, gray
from inrcodec.errors import FormatError
from inrcodec.wire import ImageInfo


def field(h=24, w=30, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    return ((x * 5 + y * 3 + rng.integers(0, 9, (h, w))) % 256).astype(np.uint8)


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("wide", [False, True])
def test_gray_stored_as_colour_comes_back_and_costs_what_gray_costs(alpha, wide):
    g = field()
    if wide:
        g = g.astype(np.uint16) * 251 + 7
    a = (255 - g // 2 if not wide else 65535 - g).astype(g.dtype)
    img = np.stack([g, g, g] + ([a] if alpha else []), 2)
    data = inrcodec.encode(img, effort=0)
    info = inrcodec.info(data)
    assert info["gray_copies"] and info["channels"] == img.shape[2] and info["shape"] == list(img.shape)
    assert container.read(data).get(container.GRAY) == bytes([img.shape[2]])
    for order in (None, "rgb", "bgr"):
        assert np.array_equal(inrcodec.decode(data, color_order=order), img)
    assert np.array_equal(inrcodec.decode(data, reduce=2), img[::2, ::2])
    alone = inrcodec.encode(img[:, :, [0, 3]] if alpha else g, effort=0)
    assert len(data) <= len(alone) + 3                   # the G chunk: 1 byte and its framing
    colour = inrcodec.encode(img, effort=0, prior="photo-7" if not alpha else "photo-rgba")
    assert not inrcodec.info(colour)["gray_copies"]      # a named prior is for the image's channels
    assert np.array_equal(inrcodec.decode(colour), img)


def test_only_equal_colour_channels_are_copies():
    g = field()
    img = np.stack([g, g, g], 2)
    assert gray.copies_of(img) == 3 and gray.copies_of(np.dstack([img, g])) == 4
    img[3, 4, 2] ^= 1
    assert gray.copies_of(img) is None and gray.copies_of(g) is None and gray.copies_of(img[:, :, :2]) is None
    data = inrcodec.encode(img, effort=0)
    assert not inrcodec.info(data)["gray_copies"] and np.array_equal(inrcodec.decode(data), img)
    signed = np.stack([g.astype(np.int16) - 100] * 3, 2)     # signed samples keep their channels
    back = inrcodec.decode(inrcodec.encode(signed, effort=0))
    assert back.dtype == np.int16 and np.array_equal(back, signed)


def test_gray_copies_after_a_palette_and_after_value_tables():
    g = field() // 64 * 85
    rgba = np.stack([g, g, g, 255 - g], 2)
    data = inrcodec.encode(rgba, effort=0)
    assert [t for t, _ in container.read(data).chunks] == [b"H", b"P", b"G", b"D"]
    assert np.array_equal(inrcodec.decode(data), rgba)
    g16 = (field() // 8).astype(np.uint16) * 2056
    data = inrcodec.encode(np.stack([g16] * 3, 2), effort=0)
    assert [t for t, _ in container.read(data).chunks] == [b"H", b"V", b"G", b"D"]
    assert np.array_equal(inrcodec.decode(data), np.stack([g16] * 3, 2))


@pytest.mark.parametrize("raw,coded", [
    (b"\x05", ImageInfo(4, 4, 1, 8, False, False)),
    (b"\x03\x03", ImageInfo(4, 4, 1, 8, False, False)),
    (b"", ImageInfo(4, 4, 1, 8, False, False)),
    (b"\x04", ImageInfo(4, 4, 1, 8, False, False)),          # gray + alpha from one channel
    (b"\x03", ImageInfo(4, 4, 2, 8, False, False)),
    (b"\x03", ImageInfo(4, 4, 1, 8, False, True)),           # H x W
    (b"\x03", ImageInfo(4, 4, 1, 7, False, False, signed=True)),
    (b"\x04", ImageInfo(8192, 16384, 2, 8, False, False)),   # 2^29 output samples
])
def test_bad_gray_chunks_refused(raw, coded):
    with pytest.raises(inrcodec.LinrError):
        gray.unpack(raw, coded)


def test_gray_chunk_refused_before_version_9():
    data = inrcodec.encode(np.stack([field()] * 3, 2), effort=0)
    old = container.write(container.read(data).in_order, 8)
    with pytest.raises(FormatError, match="version 8"):
        inrcodec.decode(old)
