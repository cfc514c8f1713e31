"""Fuzzing: every case ends in exact pixels or a LinrError, in bounded time.

Structure-aware: small valid .linr files are parsed into their chunks
(signature, version, then varint length | type | data | CRC-32 LE), mutated
(header bytes and varints, chunk order, duplicates, drops, data bytes,
truncation, version) and re-CRC'd, so the mutations get past the CRC check and
reach the decoder. Image side: PNG, TIFF and PGM bytes mutated (header fields
with CRCs recomputed, byte flips, truncation) through image_from_bytes. API:
random option values only ever raise LinrError.

A few hundred cases by default; `pytest --fuzz-long` (or LINR_FUZZ_LONG=1) runs
at least 20,000.
"""
import functools
import io
import os
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inrcodec
from inrcodec import codec, container, decoder, imageio, validate
from inrcodec.oracle import ORACLE
from inrcodec.errors import LinrError

LONG = os.environ.get("LINR_FUZZ_LONG", "") not in ("", "0")
SIG = b"\x89LNR\r\n"
BUDGET = 1024                  # pixels: keeps a mutated file's declared work small
CASE_SECONDS = 30.0            # generous: a shared 2-core machine


def fuzz_settings(default, long):
    return settings(max_examples=long if LONG else default, deadline=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck), database=None)


# -- the container framing (only this; the header's content is not assumed) ------

def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(data: bytes, pos: int):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def split(data: bytes):
    """(version, [(type, data), ...]) of a valid .linr file."""
    assert data[:6] == SIG
    version, pos, chunks = data[6], 7, []
    while pos < len(data):
        n, pos = read_varint(data, pos)
        ctype, body = data[pos:pos + 1], data[pos + 1:pos + 1 + n]
        pos += 1 + n + (4 if container.has_crc(ctype, version) else 0)
        chunks.append((ctype, body))
    return version, chunks


def join(version: int, chunks) -> bytes:
    out = bytearray(SIG + bytes([version]))
    for ctype, body in chunks:
        crc = struct.pack("<I", zlib.crc32(ctype + body)) if container.has_crc(ctype, version) else b""
        out += varint(len(body)) + ctype + body + crc
    return bytes(out)


@functools.lru_cache(maxsize=None)
def samples():
    """A few small valid files and their images (encoded once per session)."""
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (6, 5), dtype=np.uint8),
              rng.integers(0, 256, (4, 5, 3), dtype=np.uint8),
              rng.integers(0, 4000, (4, 3, 2), dtype=np.uint16),
              np.full((3, 4), 9, np.uint8)]
    out = [(img, inrcodec.encode(img, effort=0)) for img in images]
    dithered = np.array([[9, 200, 30], [250, 250, 0], [0, 0, 0]], np.uint8)[rng.integers(0, 3, (5, 6))]
    # more values than a palette holds, spread with gaps over 16 bits
    vrng = np.random.default_rng(8)
    sparse = np.sort(vrng.choice(65536, 300, replace=False))[np.arange(320).reshape(16, 20) % 300]
    sparse = sparse.astype(np.uint16)
    with_values = inrcodec.encode(sparse, effort=0)
    assert inrcodec.info(with_values)["value_tables"] == [300]
    ramp = ((np.arange(48).reshape(6, 8) * 5 + rng.integers(0, 2, (6, 8))) % 256).astype(np.uint8)
    filtered = inrcodec.encode(ramp, effort=0, filter="gradient")
    assert inrcodec.info(filtered)["filter"] == "gradient"
    return out + [(dithered, inrcodec.encode(dithered, effort=0, palette="always")),   # with a P chunk
                  (sparse, with_values),                                              # with a V chunk
                  (ramp, filtered)]                                                   # with an F chunk


def decode_bounded(data: bytes):
    """Decode with a small pixel budget: an ndarray, or a LinrError raised."""
    return codec.decode(data, max_pixels=BUDGET)


def positions_of_varints(body: bytes):
    out, pos = [], 0
    while pos < len(body):
        start = pos
        while pos < len(body) and body[pos] & 0x80 and pos - start < 5:
            pos += 1
        pos += 1
        out.append((start, min(pos, len(body))))
    return out


@st.composite
def mutated_linr(draw):
    idx = draw(st.integers(0, len(samples()) - 1))
    img, data = samples()[idx]
    version, chunks = split(data)
    chunks = list(chunks)
    n_ops = draw(st.integers(1, 4))
    for _ in range(n_ops):
        op = draw(st.sampled_from(["hbyte", "hvarint", "hinsert", "hcut", "reorder", "dup", "drop",
                                   "dbyte", "dtrunc", "dempty", "ancillary", "version", "critical"]))
        htypes = [i for i, (t, _) in enumerate(chunks) if t == b"H"]
        hi = htypes[0] if htypes else None
        if op in ("hbyte", "hvarint", "hinsert", "hcut") and hi is not None:
            t, body = chunks[hi]
            body = bytearray(body)
            if op == "hbyte" and body:
                body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
            elif op == "hvarint" and body:
                spans = positions_of_varints(bytes(body))
                a, b = spans[draw(st.integers(0, len(spans) - 1))]
                value = draw(st.one_of(st.integers(0, 70000), st.sampled_from([0, 1, 2, 15, 16, 17, 255, 256,
                                                                               8192, 65536, 2 ** 31, 2 ** 32 - 1])))
                body[a:b] = varint(value)
            elif op == "hinsert":
                at = draw(st.integers(0, len(body)))
                body[at:at] = draw(st.binary(min_size=1, max_size=4))
            elif op == "hcut" and body:
                at = draw(st.integers(0, len(body) - 1))
                del body[at:at + draw(st.integers(1, 4))]
            chunks[hi] = (t, bytes(body))
        elif op == "reorder" and len(chunks) > 1:
            chunks = draw(st.permutations(chunks))
        elif op == "dup" and chunks:
            i = draw(st.integers(0, len(chunks) - 1))
            chunks.insert(draw(st.integers(0, len(chunks))), chunks[i])
        elif op == "drop" and chunks:
            del chunks[draw(st.integers(0, len(chunks) - 1))]
        elif op in ("dbyte", "dtrunc", "dempty"):
            for i, (t, body) in enumerate(chunks):
                if t in (b"D", b"W", b"P") and draw(st.booleans()):
                    body = bytearray(body)
                    if op == "dbyte" and body:
                        body[draw(st.integers(0, len(body) - 1))] ^= 1 << draw(st.integers(0, 7))
                    elif op == "dtrunc" and body:
                        body = body[:draw(st.integers(0, len(body) - 1))]
                    elif op == "dempty":
                        body = bytearray()
                    chunks[i] = (t, bytes(body))
        elif op == "ancillary":
            chunks.insert(draw(st.integers(0, len(chunks))),
                          (draw(st.sampled_from([b"t", b"x", b"z"])), draw(st.binary(max_size=40))))
        elif op == "critical":
            chunks.insert(draw(st.integers(0, len(chunks))),
                          (draw(st.sampled_from([b"Q", b"H", b"D", b"W", b"P", b"F"])), draw(st.binary(max_size=40))))
        elif op == "version":
            version = draw(st.integers(0, 255))
    return img, data, join(version, chunks)


def decode_both_paths(data: bytes):
    """decode_bounded (the compiled backend) and the decoder under the numpy
    oracle must agree, on the pixels or on the error. Returns the pixels or None."""
    results = []
    for run in (lambda: decode_bounded(data),
                lambda: decoder.decode(bytes(data), max_pixels=BUDGET, backend=ORACLE)):
        try:
            results.append(("ok", run()))
        except LinrError as exc:
            results.append(("error", f"{type(exc).__name__}: {exc}"))
    (kind_a, a), (kind_b, b) = results
    assert kind_a == kind_b and (a == b if kind_a == "error" else np.array_equal(a, b)), results
    return a if kind_a == "ok" else None


@fuzz_settings(120, 12000)
@given(mutated_linr())
def test_fuzz_linr_structure(case):
    img, original, data = case
    t0 = time.perf_counter()
    out = decode_both_paths(data)
    assert time.perf_counter() - t0 < 2 * CASE_SECONDS
    if out is not None:
        assert isinstance(out, np.ndarray) and out.dtype in (np.uint8, np.uint16)
        if data == original:
            assert out.dtype == img.dtype and np.array_equal(out, img)


@fuzz_settings(60, 4000)
@given(st.data())
def test_fuzz_linr_raw_bytes(data_strategy):
    """Plain byte flips and truncation (CRCs mostly fail): LinrError or exact pixels."""
    img, data = samples()[data_strategy.draw(st.integers(0, len(samples()) - 1))]
    bad = bytearray(data)
    for _ in range(data_strategy.draw(st.integers(1, 3))):
        bad[data_strategy.draw(st.integers(0, len(bad) - 1))] = data_strategy.draw(st.integers(0, 255))
    bad = bytes(bad[:data_strategy.draw(st.integers(0, len(bad)))])
    try:
        out = decode_bounded(bad)
    except LinrError:
        return
    assert np.array_equal(out, img) and out.dtype == img.dtype


def test_unchanged_files_decode_exactly():
    for img, data in samples():
        version, chunks = split(data)
        assert join(version, chunks) == data
        out = decode_bounded(data)
        assert out.dtype == img.dtype and np.array_equal(out, img)


# -- image side -----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def image_files():
    import tifffile
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    rgb16 = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    ga = rng.integers(0, 256, (4, 5, 2), dtype=np.uint8)
    files = [cv2.imencode(".png", gray)[1].tobytes(), cv2.imencode(".png", rgb16)[1].tobytes(),
             imageio.image_to_bytes(ga, ".png"), cv2.imencode(".pgm", gray)[1].tobytes(),
             cv2.imencode(".ppm", rgb16)[1].tobytes(), cv2.imencode(".tif", gray)[1].tobytes()]
    buf = io.BytesIO()
    tifffile.imwrite(buf, rgb16)
    files.append(buf.getvalue())
    return files


def _png_fix_crcs(data: bytearray) -> bytes:
    pos = 8
    while pos + 12 <= len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        if pos + 12 + n > len(data):
            break
        data[pos + 8 + n:pos + 12 + n] = struct.pack(">I", zlib.crc32(bytes(data[pos + 4:pos + 8 + n])))
        pos += 12 + n
    return bytes(data)


@st.composite
def mutated_image(draw):
    raw = bytearray(image_files()[draw(st.integers(0, len(image_files()) - 1))])
    op = draw(st.sampled_from(["flip", "header", "truncate", "pnm", "png_size", "tiff_ifd"]))
    if op == "flip":
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    elif op == "header":
        at = draw(st.integers(0, min(40, len(raw) - 1)))
        raw[at] = draw(st.integers(0, 255))
        if raw[:8] == imageio.PNG_SIGNATURE:
            return _png_fix_crcs(raw)
    elif op == "truncate":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif op == "pnm" and raw[:1] == b"P":
        fields = bytes(raw).split(maxsplit=4)
        if len(fields) == 5:
            i = draw(st.integers(1, 3))
            fields[i] = str(draw(st.sampled_from([0, 1, 2, 255, 256, 65535, 65536, 70000, 10 ** 9, -1]))).encode()
            raw = bytearray(b" ".join(fields[:4]) + b"\n" + fields[4])
    elif op == "png_size" and raw[:8] == imageio.PNG_SIGNATURE:
        big = st.sampled_from([0, 1, 2, 7, 1000, 20000, 65536, 65537, 2 ** 31 - 1, 2 ** 32 - 1])
        raw[16:20] = struct.pack(">I", draw(big))
        raw[20:24] = struct.pack(">I", draw(big))
        raw[24] = draw(st.sampled_from([1, 2, 4, 8, 16, 3, 32]))
        raw[25] = draw(st.sampled_from([0, 2, 3, 4, 6, 1, 7]))
        return _png_fix_crcs(raw)
    elif op == "tiff_ifd" and raw[:2] in (b"II", b"MM") and len(raw) > 16:
        at = draw(st.integers(4, min(len(raw) - 1, 300)))
        raw[at] = draw(st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xFF]))
    return bytes(raw)


@fuzz_settings(150, 6000)
@given(mutated_image())
def test_fuzz_image_bytes(raw):
    t0 = time.perf_counter()
    try:
        img = imageio.image_from_bytes(raw)
    except LinrError:
        img = None
    assert time.perf_counter() - t0 < CASE_SECONDS
    if img is not None:
        assert isinstance(img, np.ndarray) and type(img) is np.ndarray
        assert img.dtype in (np.uint8, np.uint16) and img.ndim in (2, 3) and img.flags.c_contiguous
        assert img.ndim == 2 or 1 <= img.shape[2] <= 4


# -- API arguments -------------------------------------------------------------------

ANY = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.floats(allow_nan=True),
                st.text(max_size=12), st.binary(max_size=8), st.lists(st.integers(0, 3), max_size=3),
                st.sampled_from(["auto", "none", "cpu", "cuda", "tpu", "smallest", "ber0", "sine", "relu",
                                 "mnist", "32", "1.5", "yes", ""]),
                st.sampled_from([np.int64(3), np.float32(1.0), np.bool_(True), np.uint8(2)]))

OPTION_NAMES = ("effort", "prior", "mode", "seed", "device", "hidden", "layers", "activation",
                "progress", "verify", "palette", "group_size", "filter")
GOOD = dict(effort=0, prior="auto", mode="smallest", seed=0, device="auto", hidden=None, layers=None,
            activation=None, progress=False, verify=True, palette="auto", group_size=None, filter="auto")


@fuzz_settings(400, 5000)
@given(st.dictionaries(st.sampled_from(OPTION_NAMES), ANY, min_size=1, max_size=4))
def test_fuzz_encode_options(changes):
    opts = dict(GOOD, **changes)
    try:
        out = validate.encode_options(**opts)
    except LinrError:
        return
    assert set(out) == set(OPTION_NAMES)
    assert isinstance(out["effort"], int) and not isinstance(out["effort"], bool)
    for k in ("progress", "verify"):
        assert isinstance(out[k], bool)


IMAGE_LIKE = st.one_of(
    st.none(), st.integers(), st.text(max_size=4), st.lists(st.integers(0, 300), max_size=6),
    st.builds(lambda s, d: np.zeros(s, d), st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple),
              st.sampled_from([np.uint8, np.uint16, np.int8, np.int32, np.float32, np.bool_, ">u2", object])),
    st.builds(lambda s: np.matrix(np.zeros(s, np.uint8)), st.tuples(st.integers(1, 4), st.integers(1, 4))),
    st.builds(lambda s: np.ma.zeros(s, np.uint8), st.tuples(st.integers(1, 4), st.integers(1, 4))))


@fuzz_settings(300, 3000)
@given(IMAGE_LIKE)
def test_fuzz_as_image(obj):
    try:
        out = validate.as_image(obj)
    except LinrError:
        return
    assert type(out) is np.ndarray and out.flags.c_contiguous and out.dtype in (np.uint8, np.uint16, np.int8, np.int16)


@fuzz_settings(25, 300)
@given(st.dictionaries(st.sampled_from(("hidden", "layers", "activation", "device", "prior",
                                        "mode", "seed", "verify")), ANY, min_size=1, max_size=2))
def test_fuzz_encode_api(changes):
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    try:
        data = inrcodec.encode(img, **dict(effort=0, **changes))
    except LinrError:
        return
    assert np.array_equal(inrcodec.decode(data), img)
