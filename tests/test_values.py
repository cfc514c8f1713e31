"""Value tables (format 6, chunk V, linr.md section 3.2): per-channel tables of the values a
channel uses, the image coded as indices into them; format 9's tables on a line."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container
from inrcodec.errors import FormatError
from inrcodec.values import (EXACT_LINE_KIND, LINE_KIND, MAX_RICE, ValueTable, best_rice, build,
                             cheapest_string, gaps, line_bound, line_residuals)


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


def _kind(values, m):
    return cheapest_string(np.asarray(values, np.uint16), m)[0]


def test_lines_cost_a_few_bytes():
    """Tables of evenly spread levels take the line: 8-bit data stored in 16 bits (x 257 and
    << 8), K levels rescaled to 16 bits (rounded, floored, jittered by 1)."""
    k = np.arange(256)
    for values, kind in ((k * 257, EXACT_LINE_KIND), (k << 8, EXACT_LINE_KIND),
                         ((np.arange(32) * 65535 + 15) // 31, EXACT_LINE_KIND)):
        table = ValueTable((values.astype(np.uint16),), 16)
        packed = table.pack()
        assert _kind(values, 16) == kind and len(packed) == 1 + (1 if len(values) <= 128 else 2) + 1 + 4
        assert np.array_equal(ValueTable.unpack(packed, 1).tables[0], values)
    rng = np.random.default_rng(0)
    floored = np.arange(300) * 65535 // 299
    jittered = np.unique(np.round(np.arange(300) * 65535 / 299) + rng.integers(-1, 2, 300)).clip(0, 65535)
    for values in (floored, jittered):
        gaps_bytes = (16 + sum((int(g) >> best_rice(gaps(values))) + 1 + best_rice(gaps(values))
                               for g in gaps(values)) + 7) // 8
        packed = ValueTable((values.astype(np.uint16),), 16).pack()
        assert LINE_KIND <= _kind(values, 16) < EXACT_LINE_KIND
        assert len(packed) < gaps_bytes / 3            # about 2 bits a value, against 9
        assert np.array_equal(ValueTable.unpack(packed, 1).tables[0], values)


def test_gaps_kept_where_a_line_does_not_pay():
    rng = np.random.default_rng(4)
    for m in (2, 8, 16):
        for k in (2, 3, 40):
            if k > 1 << m:
                continue
            values = np.sort(rng.choice(1 << m, k, replace=False))
            kind, bits = cheapest_string(values.astype(np.uint16), m)
            r = best_rice(gaps(values))
            gap_bytes = (m + sum((int(g) >> r) + 1 + r for g in gaps(values)) + 7) // 8
            assert len(bits) <= gap_bytes and (kind == r) == (len(bits) == gap_bytes)


def test_line_residuals_zigzag():
    values = np.array([0, 33, 65, 99, 130], np.uint16)            # line: 0, 33, 65, 98, 130
    assert line_residuals(values).tolist() == [0, 0, 2]
    assert line_residuals(np.array([0, 32, 64, 97, 130], np.uint16)).tolist() == [1, 1, 1]


def _line_chunk(kind, m, count, first, last, bits=""):
    head = bytes([m - 1, count - 1, kind])
    s = format(first, f"0{m}b") + format(last, f"0{m}b") + bits
    s += "0" * (-len(s) % 8)
    return head + int(s, 2).to_bytes(len(s) // 8, "big")


@pytest.mark.parametrize("data,why", [
    (_line_chunk(EXACT_LINE_KIND + 1, 8, 4, 0, 255), "kind"),
    (_line_chunk(EXACT_LINE_KIND, 8, 1, 0, 255)[:3] + b"\x00", "two values"),
    (_line_chunk(EXACT_LINE_KIND, 8, 4, 200, 10), "ascending"),
    (_line_chunk(EXACT_LINE_KIND, 8, 4, 7, 7), "ascending"),
    (_line_chunk(LINE_KIND, 8, 4, 0, 255, "1" * 200 + "0" + "0"), "ascending"),
    (_line_chunk(LINE_KIND, 8, 4, 0, 255, "1" * 400), "short"),
    (_line_chunk(LINE_KIND, 8, 4, 0, 255, "0")[:-1], "short"),
    (bytes([1, 2, LINE_KIND + 2, 0b0011000_1]), "padding"),     # m 2, K 3, t_0 0, t_2 3, z_1 0 (r 2)
])
def test_bad_lines_refused(data, why):
    with pytest.raises(FormatError, match=why):
        ValueTable.unpack(data, 1)


def test_line_kinds_refused_before_version_9():
    packed = ValueTable((np.arange(0, 65536, 257).astype(np.uint16),), 16).pack()
    assert packed[3] == EXACT_LINE_KIND              # depth byte, count 255 (2 bytes), kind
    assert len(ValueTable.unpack(packed, 1, version=9).tables[0]) == 256
    with pytest.raises(FormatError, match="kind byte 32"):
        ValueTable.unpack(packed, 1, version=8)


def test_line_bound_holds_every_gap_string():
    """A line is only written within its bound, which no r = 0 gap string of the table exceeds."""
    rng = np.random.default_rng(9)
    for m in (2, 5, 16):
        for k in (2, 3, 4, 30):
            if k > 1 << m:
                continue
            values = np.sort(rng.choice(1 << m, k, replace=False))
            assert m + int(gaps(values).sum()) + k - 1 <= line_bound(k, m)


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
