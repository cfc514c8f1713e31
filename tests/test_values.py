"""Value tables (format 6, chunk V, linr.md section 3.2): per-channel tables of the values a
channel uses, the image coded as indices into them."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container
from inrcodec.errors import FormatError
from inrcodec.values import MAX_RICE, ValueTable, best_rice, build


@pytest.mark.parametrize("m", [1, 2, 7, 8, 9, 12, 16])
def test_tables_pack_and_unpack(m):
    rng = np.random.default_rng(m)
    for k in (1, 2, 3, 17, 300):
        if k > 1 << m:
            continue
        tables = tuple(np.sort(rng.choice(1 << m, size, replace=False)).astype(np.uint16)
                       for size in (k, max(1, k // 3)))
        packed = ValueTable(tables, m).pack()
        back = ValueTable.unpack(packed, 2)
        assert back.bits == m and all(np.array_equal(a, b) for a, b in zip(back.tables, tables))
        assert len(packed) < 1 + 2 * (5 + 1 + 2 * m * k // 8 + 2)    # never above raw values


def test_rice_parameter_is_the_cheapest():
    values = np.array([5, 100, 300, 301, 1000, 65000], np.uint16)
    gaps = np.diff(values.astype(np.int64)) - 1
    cost = {r: int((gaps >> r).sum()) + len(gaps) * (1 + r) for r in range(MAX_RICE + 1)}
    assert cost[best_rice(values)] == min(cost.values())


@pytest.mark.parametrize("data", [b"", b"\x10", b"\x0f\x00", b"\x0f\x00\x10", b"\x07\x00\x00\x05\x00"])
def test_bad_chunks_refused(data):
    with pytest.raises(FormatError):
        ValueTable.unpack(data, 1)


def test_build_tables_in_model_order():
    rng = np.random.default_rng(1)
    img = np.stack([rng.choice([3, 900, 40000], (9, 7)), rng.choice([7, 8], (9, 7)),
                    rng.choice([1, 2, 60000, 65535], (9, 7))], 2).astype(np.uint16)
    table, idx = build(img, "given")
    assert [list(t) for t in table.tables] == [[3, 900, 40000], [7, 8], [1, 2, 60000, 65535]]
    assert idx.dtype == np.uint16 and table.index_bits == 2 and table.bits == 16
    assert all(np.array_equal(np.asarray(t)[idx[:, :, c]], img[:, :, c]) for c, t in enumerate(table.tables))
    rgb, _ = build(img, "rgb")              # the model sees B, G, R: channel 0 is the array's 2
    assert [len(t) for t in rgb.tables] == [4, 2, 3]
    assert build((np.arange(64) % 64).reshape(8, 8).astype(np.uint8)) is None   # 6 of 6 bits used


def sparse_gray16(k=300, side=48, seed=3):
    rng = np.random.default_rng(seed)
    values = np.sort(rng.choice(65536, k, replace=False))
    y, x = np.mgrid[:side, :side]
    field = ((np.sin(x / 7) + np.cos(y / 11) + 2) * (k - 1) / 4).astype(np.int64)
    return values[field].astype(np.uint16)


@pytest.mark.parametrize("order", ["given", "rgb", "bgr"])
def test_sparse_images_take_tables_and_come_back(order):
    gray = sparse_gray16()
    rgb = np.stack([gray, gray[::-1], gray[:, ::-1]], 2)
    for img in ((gray, rgb) if order == "given" else (rgb,)):
        data = inrcodec.encode(img, effort=0, color_order=order)
        info = inrcodec.info(data)
        assert info["value_tables"] is not None and info["bit_depth"] == 16 and info["format_version"] == inrcodec.container.VERSION
        assert [t for t, _ in container.read(data).chunks] == [b"H", b"V", b"D"]
        back = inrcodec.decode(data, color_order="bgr" if order == "bgr" else None)
        assert back.dtype == img.dtype and np.array_equal(back, img)
        preview = inrcodec.decode(data, reduce=2, color_order="bgr" if order == "bgr" else None)
        assert np.array_equal(preview, img[::2, ::2])
        plain = inrcodec.encode(img, effort=0, color_order=order, palette="never")
        assert inrcodec.info(plain)["value_tables"] is None and len(data) < len(plain)


def test_dense_images_keep_their_samples():
    rng = np.random.default_rng(5)
    img = rng.integers(0, 1 << 12, (32, 32), dtype=np.uint16)      # every value of 12 bits alike
    assert inrcodec.info(inrcodec.encode(img, effort=0))["value_tables"] is None


def test_a_value_table_in_a_version_5_file_is_refused():
    data = inrcodec.encode(sparse_gray16(), effort=0)
    five = container.write(container.read(data).in_order, version=5)
    with pytest.raises(FormatError, match="value tables begin with version 6"):
        inrcodec.decode(five)
