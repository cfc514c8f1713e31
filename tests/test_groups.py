"""Groups of any multiple of 32 pixels (format 10): the encoder's default split, the header's
group field, and images coded in uneven or rectangular groups decoding exactly."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container, threads
from inrcodec.cli import main
from inrcodec.container import Reader
from inrcodec.errors import FormatError, LinrError
from inrcodec.groups import (DEFAULT_GROUP, SPLIT_PIXELS, default_size, layout, pack_size,
                             read_size)
from inrcodec.wire import Header


def textured(shape, seed):
    """A smooth image with noise (compressible, every plane coded)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:shape[0], :shape[1]]
    base = (np.sin(x / 9.0) + np.cos(y / 13.0)) * 60 + 128
    return np.clip(base[:, :, None] + rng.normal(0, 6, shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("height,width,size,count", [
    (512, 768, (384, 512), 2),          # Kodak landscape: two equal halves
    (768, 512, (512, 384), 2),          # and portrait
    (512, 512, (256, 512), 2),          # exactly SPLIT_PIXELS
    (511, 512, DEFAULT_GROUP, 1),       # one pixel row fewer: one group
    (128, 128, DEFAULT_GROUP, 1),
    (4000, 6000, DEFAULT_GROUP, 24),    # 1000 x 1000 rounds up to 1024: the default's layout
    (1000, 1500, (768, 1024), 2),       # 1024 + 476 becomes 768 + 732
    (300, 2000, DEFAULT_GROUP, 2),      # already two groups of the default
    (1025, 300, (320, 544), 2),         # 1024 rows + 1 becomes 544 + 481
])
def test_default_size(height, width, size, count):
    assert default_size(height, width) == size
    groups = layout(height, width, size)
    assert len(groups) == count
    assert sum(g.height * g.width for g in groups) == height * width
    assert all(s % 32 == 0 for s in size)


def test_default_size_splits_from_split_pixels():
    for h, w in ((512, 512), (300, 900), (1024, 1024), (256, 1024)):
        assert (h * w >= SPLIT_PIXELS) == (len(layout(h, w, default_size(h, w))) >= 2)
        assert default_size(h, w, 16) == DEFAULT_GROUP          # a 16-bit image stays whole


def test_sixteen_bit_mid_size_image_is_one_group():
    img = (np.arange(512 * 520, dtype=np.uint32).reshape(512, 520) * 37 % 65536).astype(np.uint16)
    meta = inrcodec.info(inrcodec.encode(img, effort=0))
    assert meta["groups"] == 1 and meta["group_size"] == [1024, 1024]


@pytest.mark.parametrize("size,field", [
    (DEFAULT_GROUP, b""), ((32, 32), b"\x05"), ((65536, 65536), b"\x10"),
    ((384, 512), b"\x00\x0c\x10"), ((32, 65536), b"\x00\x01\x80\x10"), ((96, 96), b"\x00\x03\x03"),
])
def test_group_field_round_trip(size, field):
    assert pack_size(size) == field
    r = Reader(field, "header")
    assert read_size(r, container.VERSION) == size
    r.done()


@pytest.mark.parametrize("field,message", [
    (b"\x00\x02\x02", "square power of two"),
    (b"\x00\x00\x01", "1 .. 2048"),
    (b"\x00\x01\x00", "1 .. 2048"),
    (b"\x00\x03\x81\x10", "2048"),       # 2049 units
    (b"\x00\x03", "header"),             # ends inside the field
    (b"\x04", "5..16"), (b"\x0a", "default"),
])
def test_group_field_refused(field, message):
    with pytest.raises(FormatError, match=message):
        read_size(Reader(field, "header"), container.VERSION)


def test_group_units_only_from_version_10():
    with pytest.raises(FormatError, match="group field 0"):
        read_size(Reader(b"\x00\x03\x01", "header"), 9)


def test_mid_size_image_is_two_equal_groups_and_decodes_exactly():
    """An image of SPLIT_PIXELS or more is cut in two by default; it decodes the same with
    one thread or two, and as a 1/4 preview equal to every 4th pixel."""
    img = textured((512, 640, 3), 4)
    data = inrcodec.encode(img, effort=0)
    meta = inrcodec.info(data)
    assert meta["format_version"] == inrcodec.container.VERSION and meta["groups"] == 2 and meta["group_size"] == [320, 512]
    outs = []
    try:
        for budget in (1, 2):
            threads.configure(budget)
            outs.append(inrcodec.decode(data))
    finally:
        threads.configure(None)
    assert all(np.array_equal(o, img) for o in outs)
    assert np.array_equal(inrcodec.decode(data, reduce=4), img[::4, ::4])


@pytest.mark.parametrize("group_size", [(64, 32), (32, 96), 96, (160, 64)])
def test_rectangular_groups_round_trip(group_size):
    img = textured((70, 130, 3), 2)
    data = inrcodec.encode(img, effort=0, group_size=group_size)
    size = (group_size, group_size) if isinstance(group_size, int) else group_size
    assert inrcodec.info(data)["groups"] == len(layout(70, 130, size))
    assert np.array_equal(inrcodec.decode(data), img)
    box = container.read(data)
    assert Header.unpack(box.get(container.HEADER), box.version).group_size == size


@pytest.mark.parametrize("bad", [48, (64, 33), (64,), (0, 64), 1 << 17, "64"])
def test_group_size_option_checked(bad):
    with pytest.raises(LinrError, match="group_size"):
        inrcodec.encode(np.zeros((8, 8), np.uint8), group_size=bad)


def test_cli_group_size(tmp_path, capsys):
    import cv2
    img = textured((70, 130, 3), 5)
    src, out, back = tmp_path / "a.png", tmp_path / "a.linr", tmp_path / "b.png"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(out), "--effort", "0", "-q", "--group-size", "64x32"]) == 0
    assert main(["info", str(out)]) == 0
    assert "groups: 9 of up to 64x32 pixels" in capsys.readouterr().out
    assert main(["decode", str(out), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)
    assert main(["encode", str(src), str(out), "--force", "-q", "--group-size", "64x"]) == 2
    assert main(["encode", str(src), str(out), "--force", "-q", "--group-size", "48"]) != 0
