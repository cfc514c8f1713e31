"""decode(region=(x, y, width, height)): a rectangle of the image from the groups it meets
alone, exactly; with reduce, the preview's pixels inside it. And previews of images in
several groups at scales coarser than a group's corner (a group starting at row 32 holds
no row of a 1/64 preview's grid at its own corner)."""
import numpy as np
import pytest

import inrcodec
from inrcodec import decoder, threads
from inrcodec.cli import main
from inrcodec.oracle import ORACLE
from test_preview import photo_like


def expected(img, region, r):
    """The preview's pixels (rows and columns at multiples of r) inside the region."""
    x, y, w, h = region
    return img[::r, ::r][-(-y // r):-(-(y + h) // r), -(-x // r):-(-(x + w) // r)]


@pytest.fixture(scope="module")
def grouped():
    """100x150 RGB in groups of 64x32: 3 columns by 4 rows of groups, the last ones cut."""
    img = photo_like(100, 150, 3, seed=1)
    return img, inrcodec.encode(img, effort=0, group_size=(64, 32))


@pytest.mark.parametrize("reduce", [1, 2, 4, 32, 64, 128, 256])
def test_preview_of_many_groups_at_every_scale(grouped, reduce):
    img, data = grouped
    assert inrcodec.info(data)["group_size"] == [64, 32]
    back = inrcodec.decode(data, reduce=reduce)
    assert np.array_equal(back, img[::reduce, ::reduce]) and back.flags.c_contiguous


@pytest.mark.parametrize("reduce", [1, 2, 8, 64])
def test_regions_are_the_image_cropped(grouped, reduce):
    img, data = grouped
    rng = np.random.default_rng(reduce)
    regions = [(0, 0, 150, 100), (0, 0, 1, 1), (149, 99, 1, 1), (64, 32, 64, 32), (63, 31, 2, 2),
               (10, 20, 130, 5)]
    regions += [(x, y, int(rng.integers(1, 151 - x)), int(rng.integers(1, 101 - y)))
                for x, y in zip(rng.integers(0, 150, 12).tolist(), rng.integers(0, 100, 12).tolist())]
    decoded = 0
    for region in regions:
        want = expected(img, region, reduce)
        if want.size == 0:
            with pytest.raises(inrcodec.LinrError, match="no pixel of the 1/"):
                inrcodec.decode(data, reduce=reduce, region=region)
            continue
        back = inrcodec.decode(data, reduce=reduce, region=region)
        assert np.array_equal(back, want), region
        decoded += 1
    assert decoded >= 5             # at 1/64 most small regions hold no pixel of the grid


def test_a_region_decodes_only_the_groups_it_meets(grouped, monkeypatch):
    img, data = grouped
    runs = []
    real = decoder._Job.run

    def counted(self, part, raw, *args, **kwargs):
        runs.append(part.group)
        return real(self, part, raw, *args, **kwargs)
    monkeypatch.setattr(decoder._Job, "run", counted)
    assert np.array_equal(inrcodec.decode(data, region=(70, 40, 50, 20)), img[40:60, 70:120])
    assert [(g.y0, g.x0) for g in runs] == [(32, 64)]
    runs.clear()
    assert np.array_equal(inrcodec.decode(data, region=(60, 30, 10, 10)), img[30:40, 60:70])
    assert sorted((g.y0, g.x0) for g in runs) == [(0, 0), (0, 64), (32, 0), (32, 64)]


def test_region_of_kinds_and_orders_and_the_oracle():
    """16-bit gray, a palette in either colour order, value tables; the oracle agrees."""
    gray = photo_like(70, 90, 1, np.uint16, seed=2)
    data = inrcodec.encode(gray, effort=0, group_size=32)
    assert np.array_equal(inrcodec.decode(data, region=(20, 30, 45, 33)), gray[30:63, 20:65])
    assert np.array_equal(decoder.decode(data, max_pixels=1 << 20, region=(20, 30, 45, 33), backend=ORACLE),
                          gray[30:63, 20:65])
    few = (photo_like(64, 96, 3, seed=3) // 64 * 64).astype(np.uint8)
    data = inrcodec.encode(few, effort=0, color_order="rgb", palette="always", group_size=32)
    assert inrcodec.info(data)["palette"]
    assert np.array_equal(inrcodec.decode(data, region=(33, 5, 40, 50)), few[5:55, 33:73])
    assert np.array_equal(inrcodec.decode(data, region=(33, 5, 40, 50), color_order="bgr"),
                          few[5:55, 33:73, ::-1])
    sparse = (photo_like(64, 64, 3, np.uint16, seed=4) // 256 * 257).astype(np.uint16)
    data = inrcodec.encode(sparse, effort=0, group_size=32)
    assert np.array_equal(inrcodec.decode(data, region=(31, 31, 3, 20), reduce=2), expected(sparse, (31, 31, 3, 20), 2))


def test_region_the_same_on_any_thread_count(grouped):
    img, data = grouped
    try:
        out = []
        for n in (1, 2, 3):
            threads.configure(n)
            out.append(inrcodec.decode(data, region=(5, 7, 140, 90)))
    finally:
        threads.configure(None)
    assert all(np.array_equal(o, img[7:97, 5:145]) for o in out)


@pytest.mark.parametrize("bad", [(0, 0, 151, 1), (0, 99, 1, 2), (150, 0, 1, 1)])
def test_region_outside_the_image(grouped, bad):
    with pytest.raises(inrcodec.LinrError, match="outside the 150x100 image"):
        inrcodec.decode(grouped[1], region=bad)


@pytest.mark.parametrize("bad", [(0, 0, 0, 1), (0, 0, 1, 0), (-1, 0, 1, 1), (0, 0, 1), [0, 0, 1, 1, 1],
                                 (0.0, 0, 1, 1), (True, 0, 1, 1), "0,0,1,1", 5])
def test_region_must_be_four_counts(grouped, bad):
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(grouped[1], region=bad)


def test_cli_region(tmp_path):
    import cv2
    img = photo_like(100, 150, 3, seed=5)
    src, linr = tmp_path / "a.png", tmp_path / "a.linr"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(linr), "--effort", "0", "--group-size", "64x32", "-q"]) == 0
    assert main(["decode", str(linr), str(tmp_path / "r.png"), "--region", "70,40,50,20", "-q"]) == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "r.png")), img[40:60, 70:120])
    assert main(["decode", str(linr), str(tmp_path / "s.png"), "--region", " 8, 8,100,60",
                 "--scale", "1/4", "-q"]) == 0
    assert np.array_equal(cv2.imread(str(tmp_path / "s.png")), expected(img, (8, 8, 100, 60), 4))
    for bad, code in (("1,2,3", 2), ("0,0,0,5", 2), ("a,b,c,d", 2), ("140,0,20,5", 1)):
        assert main(["decode", str(linr), str(tmp_path / "b.png"), "--region", bad, "-q"]) == code
        assert not (tmp_path / "b.png").exists()
