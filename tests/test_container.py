"""The container reader is as strict as the spec; truncated, bit-flipped and hostile .linr
files end in LinrError, never garbage.

The container tests build synthetic chunks (they do not depend on the header's content);
the end-to-end tests at the bottom go through inrcodec.encode / decode.
"""

import struct
import zlib

import numpy as np
import pytest

import inrcodec
from inrcodec import container, limits
from inrcodec.container import Reader, put_varint
from inrcodec.errors import FormatError, LimitError, TruncatedError

PREFIX = container.SIGNATURE + bytes([container.VERSION])
H = (b"H", b"header bytes")
W = (b"W", b"\x01\x02")
D = (b"D", b"\x11\x22\x33\x44")


def raw_chunk(ctype: bytes, data: bytes, length: bytes = None, version: int = None) -> bytes:
    """A chunk with a valid CRC where `version` has one (default: the current version) and
    any length field (hand-made, bypassing write)."""
    version = container.VERSION if version is None else version
    if length is None:
        return container.chunk_bytes(ctype, data, version)
    crc = struct.pack("<I", zlib.crc32(ctype + data)) if container.has_crc(ctype, version) else b""
    return length + ctype + data + crc


def raw_file(*chunks, version=None) -> bytes:
    version = container.VERSION if version is None else version
    head = container.SIGNATURE + bytes([version])
    return head + b"".join(raw_chunk(*c, version=version) for c in chunks)


# -- version and signature -------------------------------------------------------------

def test_version_13_round_trip():
    assert container.VERSION == 13
    data = container.write([H, W, D])
    assert data[:7] == PREFIX
    box = container.read(data)
    assert box.version == 13 and box.chunks == [H, W, D]
    assert box.get(b"H") == H[1] and box.get(b"W") == W[1] and box.get(b"D") == D[1]
    assert box.ancillary == [] and box.in_order == [H, W, D]
    assert container.read(container.write([H, D])).get(b"W") is None


def test_filter_chunk_from_version_12_between_g_and_w():
    F = (b"F", b"\x01\x08")
    box = container.read(container.write([H, (b"G", b"\x03"), F, W, D]))
    assert box.get(b"F") == F[1]
    with pytest.raises(FormatError, match="filters begin with version 12"):
        container.read(container.write([H, F, D], version=11))
    for wrong in ([H, W, F, D], [H, F, (b"G", b"\x03"), D]):
        with pytest.raises(FormatError, match="out of order"):
            container.write(wrong)


def test_version_6_has_no_crc_on_critical_chunks_and_5_has():
    """Version 6 is version 5 without the critical chunks' CRCs; ancillary chunks keep theirs."""
    t = (b"t", b"text")
    six, five = container.write([H, D, t], version=6), container.write([H, D, t], version=5)
    assert len(five) - len(six) == 8                      # the CRCs of H and D
    assert six[7:] == bytes([len(H[1])]) + H[0] + H[1] + bytes([len(D[1])]) + D[0] + D[1] \
        + container.chunk_bytes(*t, version=6)
    assert container.chunk_bytes(*t, version=6) == container.chunk_bytes(*t, version=5)
    for data, version in ((six, 6), (five, 5)):
        box = container.read(data)
        assert box.version == version and box.in_order == [H, D, t]
    damaged = bytearray(six)
    damaged[-1] ^= 1                                      # the ancillary chunk's CRC
    with pytest.raises(FormatError, match="fails its CRC"):
        container.read(bytes(damaged))
    with pytest.raises(FormatError):                      # a version 5 file called version 6
        container.read(six[:6] + bytes([6]) + five[7:])
    with pytest.raises(FormatError):                      # and the other way round
        container.read(five[:6] + bytes([5]) + six[7:])


def test_version_1_names_the_release_that_reads_it():
    with pytest.raises(FormatError) as exc:
        container.read(raw_file(H, D, version=1))
    msg = str(exc.value)
    assert "\n" not in msg
    assert "version 1" in msg and "linr 0.1" in msg and "pip install 'linr==0.1.0'" in msg


@pytest.mark.parametrize("version", [2, 3])
def test_older_versions_still_read(version):
    box = container.read(raw_file(H, D, version=version))
    assert box.version == version and box.chunks == [H, D]


def test_palette_chunk_needs_version_4():
    P = (b"P", b"\x00\x01\x05\x09")
    assert container.read(raw_file(H, P, W, D)).get(b"P") == P[1]
    with pytest.raises(FormatError, match="palettes begin with version 4"):
        container.read(raw_file(H, P, D, version=3))
    with pytest.raises(FormatError, match="out of order"):
        container.read(raw_file(H, W, P, D))


@pytest.mark.parametrize("version", [0, 14, 255])
def test_other_versions_refused(version):
    with pytest.raises(FormatError, match=f"unsupported .linr version {version} "
                                          r"\(this decoder reads 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13; a newer linr may read it\)"):
        container.read(raw_file(H, D, version=version))


def test_signature():
    with pytest.raises(TruncatedError):
        container.read(PREFIX[:-1])
    with pytest.raises(FormatError, match="text mode"):
        container.read(b"\x89LNR\n" + PREFIX[6:] + raw_chunk(*H) + raw_chunk(*D))
    for data in (b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"hello world"):
        with pytest.raises(FormatError):
            container.read(data)


# -- varints ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16383, 16384, 2 ** 28 - 1, 2 ** 28,
                                   2 ** 32 - 1])
def test_varint_round_trip(value):
    enc = container.varint_bytes(value)
    assert len(enc) <= limits.MAX_VARINT_BYTES
    r = Reader(enc, "test")
    assert r.varint() == value
    r.done()


@pytest.mark.parametrize("enc", [
    b"\x80\x00",                        # 0 in two bytes
    b"\x81\x00",                        # 1 in two bytes
    b"\xff\x80\x00",                    # 127 in three bytes
    b"\x80\x80\x80\x80\x00",            # 0 in five bytes
])
def test_overlong_varints_refused(enc):
    with pytest.raises(FormatError, match="overlong"):
        Reader(enc, "test").varint()
    with pytest.raises(FormatError, match="overlong"):   # same rule for chunk lengths
        container.read(PREFIX + raw_chunk(b"H", b"", length=enc) + raw_chunk(*D))


def test_six_byte_varints_refused():
    enc = b"\x80\x80\x80\x80\x80\x00"
    with pytest.raises(FormatError):
        Reader(enc, "test").varint(limit=2 ** 40)
    with pytest.raises(FormatError):
        container.read(PREFIX + enc + b"H")


def test_varint_32_bit_cap_and_caller_limit():
    with pytest.raises(LimitError):
        Reader(b"\x80\x80\x80\x80\x10", "test").varint()          # 2^32
    with pytest.raises(LimitError):
        Reader(b"\x80\x80\x80\x80\x10", "test").varint(limit=2 ** 40)
    assert Reader(container.varint_bytes(256), "t").varint(limit=256) == 256
    with pytest.raises(LimitError):
        Reader(container.varint_bytes(257), "t").varint(limit=256)
    with pytest.raises(FormatError, match="too short"):
        Reader(b"\x80\x80", "t").varint()


def test_writer_refuses_what_reader_refuses():
    for bad in (-1, 2 ** 32, 2 ** 40):
        with pytest.raises(FormatError):
            put_varint(bytearray(), bad)
    with pytest.raises(LimitError):
        put_varint(bytearray(), 257, limit=256)
    put_varint(bytearray(), 256, limit=256)


def test_chunk_length_limit():
    # a declared length over MAX_CHUNK_BYTES is refused before the body is looked at
    length = container.varint_bytes(limits.MAX_CHUNK_BYTES + 1)
    with pytest.raises(LimitError):
        container.read(PREFIX + length + b"H")
    with pytest.raises(LimitError):
        container.read(PREFIX + container.varint_bytes(2 ** 32 - 1) + b"H")
    # a length within the limit but beyond the file is a truncation
    with pytest.raises(TruncatedError):
        container.read(PREFIX + container.varint_bytes(limits.MAX_CHUNK_BYTES) + b"H")
    with pytest.raises(TruncatedError):                          # ends inside the length
        container.read(PREFIX + b"\x80")


# -- chunk types -----------------------------------------------------------------------

@pytest.mark.parametrize("ctype", [b"0", b"9", b"_", b" ", b"\x00", b"\x7f", b"\xc8", b"@",
                                   b"[", b"`", b"{"])
def test_chunk_types_are_letters(ctype):
    with pytest.raises(FormatError, match="not an ASCII letter"):
        container.read(raw_file(H, (ctype, b"x"), D))
    with pytest.raises(FormatError, match="not an ASCII letter"):
        container.write([H, (ctype, b"x"), D])


def test_unknown_critical_chunk_refused():
    for ctype in (b"Q", b"A", b"Z"):
        with pytest.raises(FormatError, match="unknown critical"):
            container.read(raw_file(H, (ctype, b"x"), D))
        with pytest.raises(FormatError, match="unknown critical"):
            container.write([H, (ctype, b"x"), D])


def test_ancillary_chunks_kept_in_order():
    t1, t2, t3, z = (b"t", b"one"), (b"x", b""), (b"t", b"three"), (b"z", b"after data")
    data = raw_file(H, t1, W, t2, t3, D, z)
    assert container.write([H, t1, W, t2, t3, D, z]) == data
    box = container.read(data)
    assert box.chunks == [H, W, D]
    assert box.ancillary == [t1, t2, t3, z]
    assert box.in_order == [H, t1, W, t2, t3, D, z]
    assert container.write(box.in_order) == data


# -- chunk order -----------------------------------------------------------------------

@pytest.mark.parametrize("chunks, match", [
    ([(b"t", b"x"), H, D], "header chunk must come first"),
    ([D, H], "header chunk must come first"),
    ([W, H, D], "header chunk must come first"),
    ([H, D, W], "out of order"),
    ([H, D, (b"t", b""), W], "out of order"),
    ([H, H, D], "twice"),
    ([H, W, W, D], "twice"),
    ([H, W, D, D], "twice"),
    ([H, W, (b"a", b""), W, D], "twice"),
    ([H, D, H], "twice"),
])
def test_chunk_order_enforced(chunks, match):
    with pytest.raises(FormatError, match=match):
        container.read(raw_file(*chunks))
    with pytest.raises(FormatError, match=match):
        container.write(chunks)


@pytest.mark.parametrize("chunks", [[], [H], [H, W], [H, (b"t", b"")], [H, W, (b"d", b"")]])
def test_required_chunks(chunks):
    with pytest.raises(FormatError):
        container.read(raw_file(*chunks))
    with pytest.raises(FormatError):
        container.write(chunks)


def test_nothing_after_last_chunk():
    good = container.write([H, D])
    container.read(good)
    for tail in (b"\x00", b"\x00\x00", b"junk", b"\x00H\x00\x00\x00\x00"):
        with pytest.raises(FormatError):
            container.read(good + tail)


def test_crc_checked():
    """Version 5: every chunk's CRC. (Version 6 keeps it on ancillary chunks only.)"""
    for chunks in ([H, D], [H, D, (b"t", b"text")]):
        good = bytearray(container.write(chunks, version=5))
        for pos in range(7, len(good)):
            bad = bytearray(good)
            bad[pos] ^= 0x01
            with pytest.raises(FormatError):
                container.read(bytes(bad))


def test_version_6_bit_flips_refused_or_seen():
    """Without the CRCs a flipped bit of a critical chunk is either refused by the container
    or changes what it reads (for the pixel hash to refuse: the end-to-end tests below)."""
    good = container.write([H, D, (b"t", b"text")])
    want = container.read(good).in_order
    for pos in range(7, len(good)):
        for bit in range(8):
            bad = bytearray(good)
            bad[pos] ^= 1 << bit
            try:
                got = container.read(bytes(bad)).in_order
            except FormatError:
                continue
            assert got != want and pos < len(good) - len(container.chunk_bytes(b"t", b"text"))


def test_every_truncation_refused_by_the_container():
    good = container.write([H, W, (b"t", b"text"), D])
    for n in range(len(good)):
        with pytest.raises(FormatError):
            container.read(good[:n])


# -- end to end through the codec -------------------------------------------------------

RNG = np.random.default_rng(7)
IMG = RNG.integers(0, 256, (10, 12, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def files():
    plain = inrcodec.encode(IMG, effort=0)
    y, x = np.mgrid[:24, :24]
    pattern = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], 2).astype(np.uint8)
    fitted = inrcodec.encode(pattern, effort=2, prior="none", filter="never")  # has a delta chunk
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


def test_gigantic_chunk_length_refused():
    data = bytearray(PREFIX)
    data += b"\xff\xff\xff\xff\x0f"                  # 2^32 - 1
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(bytes(data) + b"H")


def test_codec_unknown_critical_and_ancillary(files):
    box = container.read(files[0])
    with pytest.raises(inrcodec.FormatError):
        inrcodec.decode(raw_file(*(box.chunks[:1] + [(b"Q", b"x")] + box.chunks[1:])))
    extra = container.write(box.chunks[:1] + [(b"t", b"comment")] + box.chunks[1:]
                            + [(b"z", b"end")])
    assert np.array_equal(inrcodec.decode(extra), IMG)


def test_not_linr():
    for data in (b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"hello world"):
        with pytest.raises(inrcodec.FormatError):
            inrcodec.decode(data)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode("not bytes")
