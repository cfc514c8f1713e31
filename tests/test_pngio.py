"""pngio: PNGs read and written without OpenCV give what OpenCV gives (pixels.py's reading),
filter their rows as libpng does, and leave every other file to OpenCV."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from conftest import DATA
from inrcodec import pngio
from inrcodec.png_chunks import PNG_SIGNATURE, png_chunk, png_chunks
from inrcodec.pixels import image_from_bytes

SUITE = sorted((DATA / "pngsuite").glob("*.png")) if (DATA / "pngsuite").exists() else []


def _opencv(raw: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    colour = struct.unpack(">B", raw[25:26])[0]
    return np.ascontiguousarray(img[:, :, [0, 3]]) if colour == 4 else img     # gray + alpha as stored


def _images():
    rng = np.random.default_rng(7)
    y, x = np.mgrid[:23, :31]
    ramp = (3 * x + 5 * y).astype(np.int64)
    for dtype, top in ((np.uint8, 256), (np.uint16, 65536)):
        for c in (1, 2, 3, 4):
            shape = (23, 31) if c == 1 else (23, 31, c)
            noisy = rng.integers(0, top, shape).astype(dtype)
            smooth = (np.stack([ramp * (i + 1) for i in range(c)], -1).reshape(shape) % top).astype(dtype)
            yield noisy
            yield smooth
    yield np.zeros((1, 1), np.uint8)


@pytest.mark.skipif(not SUITE, reason="PngSuite not available")
def test_every_png_the_reader_takes_reads_as_opencv_reads_it():
    taken = 0
    for path in SUITE:
        raw = path.read_bytes()
        img = pngio.read(raw)
        if img is None:
            continue
        taken += 1
        want = _opencv(raw)
        assert img.dtype == want.dtype and np.array_equal(img, want), path.name
        assert img.flags.c_contiguous
    assert taken >= 60       # the 8- and 16-bit gray, gray + alpha, RGB and RGBA files, all 5 filters


@pytest.mark.parametrize("image", list(_images()), ids=lambda a: f"{a.dtype}-{a.shape}")
def test_written_pngs_read_back_exactly_with_libpngs_row_filters(image):
    data = pngio.write(image)
    assert np.array_equal(pngio.read(data), image) and np.array_equal(_opencv(data), image)
    if image.ndim == 3 and image.shape[2] == 2:
        return                                   # OpenCV writes no gray + alpha
    theirs = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, pngio.LEVEL])[1].tobytes()
    rows = [zlib.decompress(b"".join(d for t, d, _ in png_chunks(f) if t == b"IDAT")) for f in (data, theirs)]
    assert rows[0] == rows[1]                    # the same filter on every row, the same bytes


def _png(ihdr: bytes, body: bytes, extra=()) -> bytes:
    return (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + b"".join(png_chunk(t, d) for t, d in extra)
            + png_chunk(b"IDAT", zlib.compress(body)) + png_chunk(b"IEND", b""))


def test_other_layouts_and_damaged_files_are_left_to_opencv():
    gray = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    good = b"\x00\x01\x02\x01\x03\x04"
    assert np.array_equal(pngio.read(_png(gray, good)), [[1, 2], [3, 7]])      # the second row: Sub
    left = [
        _png(gray, b"\x05\x01\x02\x01\x03\x04"),                 # filter type 5
        _png(gray, good[:-1]),                                   # a row short
        _png(gray, good + b"\x00"),                              # a byte too many
        _png(gray, good, [(b"tRNS", b"\x00\x01")]),              # transparency: OpenCV adds alpha
        _png(struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 1), good),    # interlaced
        _png(struct.pack(">IIBBBBB", 2, 2, 4, 0, 0, 0, 0), b"\x00\x10\x00\x23"),   # 4 bits
        _png(struct.pack(">IIBBBBB", 2, 2, 8, 3, 0, 0, 0), good, [(b"PLTE", bytes(15))]),  # palette
    ]
    damaged = bytearray(_png(gray, good))
    damaged[-20] ^= 1                                            # the IDAT's CRC
    cut = _png(gray, good)[:-12]                                 # no IEND
    split = _png(gray, good).replace(png_chunk(b"IEND", b""), png_chunk(b"tEXt", b"a\x00b")
                                     + png_chunk(b"IDAT", b"") + png_chunk(b"IEND", b""))
    for raw in left + [bytes(damaged), cut, split]:
        assert pngio.read(raw) is None
    assert np.array_equal(image_from_bytes(left[3]), cv2.imdecode(np.frombuffer(left[3], np.uint8),
                                                                  cv2.IMREAD_UNCHANGED))


@pytest.mark.parametrize("block", [1, 200, 5000])
def test_blocks_of_rows_make_one_stream_whatever_the_thread_budget(monkeypatch, block):
    """write() filters and deflates BLOCK_BYTES of rows a task (each block with the bytes
    before it as its dictionary) and read() unfilters a block at a time: one zlib stream that
    OpenCV reads, libpng's filters row for row, the same file on one thread or two."""
    monkeypatch.setattr(pngio, "BLOCK_BYTES", block)
    rng = np.random.default_rng(3)
    y, x = np.mgrid[:41, :37]
    img = (np.stack([x * 900 + y * 300, x * y * 40, (x - y) % 7 * 9000], -1)
           + rng.integers(0, 500, (41, 37, 3))).astype(np.uint16)
    files = []
    for budget in ("1", "2"):
        monkeypatch.setenv("LINR_THREADS", budget)
        files.append(pngio.write(img))
    assert files[0] == files[1]
    assert np.array_equal(pngio.read(files[0]), img) and np.array_equal(_opencv(files[0]), img)
    theirs = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, pngio.LEVEL])[1].tobytes()
    rows = [zlib.decompress(b"".join(d for t, d, _ in png_chunks(f) if t == b"IDAT")) for f in (files[0], theirs)]
    assert rows[0] == rows[1]


def test_adler32_combine_is_zlibs():
    rng = np.random.default_rng(5)
    for _ in range(200):
        a, b = rng.bytes(int(rng.integers(0, 300))), rng.bytes(int(rng.integers(0, 70000)))
        assert pngio.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
