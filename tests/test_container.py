"""Truncated, bit-flipped and hostile .linr files end in LinrError, never garbage."""

import numpy as np
import pytest

import inrcodec
from inrcodec import container
from inrcodec.container import put_varint

RNG = np.random.default_rng(7)
IMG = RNG.integers(0, 256, (10, 12, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def files():
    plain = inrcodec.encode(IMG, effort=0)
    y, x = np.mgrid[:24, :24]
    pattern = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], 2).astype(np.uint8)
    fitted = inrcodec.encode(pattern, effort=2, prior="none")  # has a delta chunk
    assert b"W" in [t for t, _ in container.read(fitted).chunks]
    return [plain, fitted]


def test_every_truncation_fails(files):
    for data in files:
        for n in range(len(data)):
            with pytest.raises(inrcodec.LinrError):
                inrcodec.decode(data[:n])


def test_random_bit_flips_fail(files):
    for data in files:
        for _ in range(150):
            bad = bytearray(data)
            pos = int(RNG.integers(len(bad)))
            bad[pos] ^= 1 << int(RNG.integers(8))
            with pytest.raises(inrcodec.LinrError):
                inrcodec.decode(bytes(bad))


def test_random_byte_garbage_fails(files):
    for data in files:
        for _ in range(50):
            bad = bytearray(data)
            start = int(RNG.integers(len(bad)))
            bad[start:start + 4] = RNG.integers(0, 256, 4, dtype=np.uint8).tobytes()
            if bytes(bad) == data:
                continue
            with pytest.raises(inrcodec.LinrError):
                inrcodec.decode(bytes(bad))


def _with_chunk(chunks):
    return container.write(chunks)


def _header(width, height, fmt=0, arch=4, hidden=32, prior=0):
    h = bytearray()
    put_varint(h, width)
    put_varint(h, height)
    h += bytes([fmt, arch])
    put_varint(h, hidden)
    h.append(prior)
    if prior:
        h += b"\0\0\0\0"
    else:
        h.append(0)
    h += b"\0\0\0\0"
    return bytes(h)


def test_hostile_sizes_rejected_before_allocation():
    huge = _with_chunk([(b"H", _header(65536, 65536, fmt=3)), (b"D", b"")])
    with pytest.raises(inrcodec.LimitError):
        inrcodec.decode(huge)
    wide = _with_chunk([(b"H", _header(4, 4, hidden=100000)), (b"D", b"")])
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(wide)
    # a chunk claiming a gigantic length
    data = bytearray(container.SIGNATURE + bytes([container.VERSION]))
    put_varint(data, 1 << 33)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(bytes(data) + b"H")


def test_unknown_prior_and_critical_chunk():
    with pytest.raises(inrcodec.PriorError):
        inrcodec.decode(_with_chunk([(b"H", _header(4, 4, prior=200)), (b"D", b"")]))
    with pytest.raises(inrcodec.PriorError):       # right id, wrong content tag
        inrcodec.decode(_with_chunk([(b"H", _header(4, 4, prior=1)), (b"D", b"")]))
    good = inrcodec.encode(IMG, effort=0)
    box = container.read(good)
    with pytest.raises(inrcodec.FormatError):
        inrcodec.decode(container.write(box.chunks[:1] + [(b"Q", b"x")] + box.chunks[1:]))


def test_ancillary_chunks_are_skipped():
    good = inrcodec.encode(IMG, effort=0)
    box = container.read(good)
    extra = container.write(box.chunks[:1] + [(b"t", b"comment")] + box.chunks[1:])
    assert np.array_equal(inrcodec.decode(extra), IMG)


def test_not_linr():
    for data in (b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"hello world"):
        with pytest.raises(inrcodec.FormatError):
            inrcodec.decode(data)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode("not bytes")
