"""The compiled backend (backend.COMPILED, kernels.py) gives its numpy oracle's
integers exactly (oracle.ORACLE): the same probabilities, the same decoded
values, the same adaptive tables and mixing state, the same bytes and the same errors."""
import numpy as np
import pytest

import inrcodec
from inrcodec import container, decoder, exact, features, mixing, schedule
from inrcodec.adapt import COUNT_LIMIT, Adapt
from inrcodec.backend import COMPILED
from inrcodec.encoder import Encoder, write
from inrcodec.entropy import StreamReader, StreamWriter
from inrcodec.errors import FormatError
from inrcodec.oracle import ORACLE
from inrcodec.walker import ImageSink

BACKENDS = [COMPILED, ORACLE]


def random_rows(rng, count: int, bits: int, channels: int = 1, spread: int = 1):
    """Trunk outputs, anchors, shifts, mixing contexts and nearest values, including values
    beyond every clip limit."""
    out_features = 5 * channels + channels * (channels - 1)
    out = rng.integers(-spread * 70 * exact.ACT_ONE, spread * 70 * exact.ACT_ONE, (count, out_features))
    anchor = rng.integers(0, 1 << bits, (count, channels))
    shift = rng.integers(0, max(1, bits - 1), count)
    pd = np.clip(anchor + rng.integers(-9, 10, anchor.shape), 0, (1 << bits) - 1)
    mix = mixing.pack_context(anchor, pd, rng.integers(0, 16, anchor.shape), rng.integers(0, 16, anchor.shape),
                              rng.integers(0, 3, (count, 1)))
    # the 4 nearest: the anchor itself, near it, or anywhere (so every match context occurs)
    nearest = np.where(rng.random((4, count, channels)) < 0.3, anchor[None],
                       np.clip(anchor[None] + rng.integers(-3, 4, (4, count, channels)), 0, (1 << bits) - 1))
    nearest = np.where(rng.random((4, count, channels)) < 0.2, rng.integers(0, 1 << bits, nearest.shape), nearest)
    return out, anchor, shift, mix, mixing.pack_near(nearest)


def trained_tables(rng, channels: int, bits: int) -> Adapt:
    """Adaptive tables that have learnt from random decisions: some cells full
    (COUNT_LIMIT), some not, probabilities moved away from their cells'."""
    adapt = Adapt(channels, bits)
    for _ in range(3):
        for c in range(channels):
            for b in range(bits):
                k = rng.integers(exact.K_MIN, exact.K_MAX + 1, 2000)
                bit = (rng.integers(0, 1 << 16, 2000) < 65536 - k).astype(np.int64)   # miscalibrated
                _, cells = adapt.refine(c, b, k)
                adapt.learn(c, b, cells, bit)
    assert (adapt.count == COUNT_LIMIT).any() and (adapt.count < COUNT_LIMIT).any()
    return adapt


def trained_mixer(rng, channels: int, bits: int, kind: str = "mix") -> mixing.Mixer:
    """A mixer that has learnt from a random chunk (weights, counters and counts moved)."""
    mixer = mixing.Mixer(channels, bits, refined=kind != "mix", matched=kind == "match")
    rows = random_rows(rng, 300, bits, channels)
    truth = rng.integers(0, 1 << bits, (300, channels)).astype(np.uint16)
    COMPILED.chunk(rows, bits, np.full((bits, channels), -1, np.int64), mixer, TruthSink(truth), None, None)
    assert (mixer.weights[:, mixing.NET_INPUT] != mixing.NET_WEIGHT).any() and mixer.seen.all()
    return mixer


def random_chunk(seed, bits, channels, spread, count=3000, learner=None):
    rng = np.random.default_rng(seed)
    rows = random_rows(rng, count, bits, channels, spread)
    adapt = (trained_tables(rng, channels, bits) if learner == "adapt"
             else trained_mixer(rng, channels, bits, learner) if learner in MIXERS else None)
    truth = rng.integers(0, 1 << bits, (count, channels))
    truth[:500] = rows[1][:500]                               # near the mean: extreme probabilities
    const = np.full((bits, channels), -1, np.int64)
    if bits > 2:
        const[bits - 1, 0] = 0                                # a constant top plane
        truth[:, 0] &= (1 << (bits - 1)) - 1
    return rows, truth.astype(np.uint16), const, adapt


class TruthSink(ImageSink):
    """The encoder's sink over a chunk's values given directly."""

    def __init__(self, truth):
        super().__init__(None)
        self.values = truth

    def truth(self, ys, xs):
        return self.values


def copy(adapt):
    return None if adapt is None else adapt.copy()


def same_tables(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    names = (("prefix", "cells", "weights", "seen", "sse", "match") if isinstance(a, mixing.Mixer)
             else ("prob", "count"))
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in names)


MIXERS = ("mix", "sse", "match")           # formats 5-7, 8, 9
LEARNERS = [None, "adapt", *MIXERS]


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("bits", [1, 2, 8, 12, 16])
@pytest.mark.parametrize("channels,spread", [(1, 1), (1, 4), (3, 1), (4, 4)])
def test_encoder_side_decisions_equal_the_oracle(bits, channels, spread, learner):
    rows, truth, const, adapt = random_chunk(bits * 10 + spread + channels, bits, channels, spread,
                                             count=700 if learner in MIXERS else 3000, learner=learner)
    sinks, tables = [], []
    for backend in BACKENDS:
        sink, t = TruthSink(truth), copy(adapt)
        assert np.array_equal(backend.chunk(rows, bits, const, t, sink, None, None), truth)
        sinks.append(sink)
        tables.append(t)
    assert same_tables(*tables)
    assert learner is None or not same_tables(tables[0], adapt)          # the tables learnt
    assert len(sinks[0].parts) == len(sinks[1].parts) == int((const < 0).sum())
    for row, ((b0, k0), (b1, k1)) in enumerate(zip(sinks[0].parts, sinks[1].parts)):
        assert np.array_equal(k0, k1), row
        assert np.array_equal(b0, b1), row


def stream_sink(data: bytes, budget: int = 10 ** 9) -> decoder.StreamSink:
    return decoder.StreamSink(StreamReader(data), budget)


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("bits,channels", [(1, 1), (8, 3), (16, 1), (12, 4)])
def test_decoder_side_equals_the_oracle_and_continues_the_stream(bits, channels, learner):
    """Decisions popped before the chunk (the stream reader), the chunk (the backend), the
    terminator after it: both backends read the same values off the one stream state
    and leave the stream and the tables in the same state."""
    count = 500 if learner in MIXERS else 1500
    rows, truth, const, adapt = random_chunk(bits + channels, bits, channels, 1, count=count, learner=learner)
    encoder_side = TruthSink(truth)
    learnt = copy(adapt)
    COMPILED.chunk(rows, bits, const, learnt, encoder_side, None, None)
    writer = StreamWriter()
    writer.bits(np.array([1, 0, 1]), np.array([100, 40000, 65000]))      # decoded before the chunk
    for bit, k in encoder_side.parts:
        writer.bits(bit, k)
    writer.bits(np.array([1, 1]), np.array([32768, 32768]))               # after the chunk
    data = writer.finish()
    for backend in BACKENDS:
        sink, t = stream_sink(data), copy(adapt)
        assert sink.raw(np.array([100, 40000, 65000]), None).tolist() == [1, 0, 1]
        got = backend.chunk(rows, bits, const, t, sink, None, None)
        assert np.array_equal(got, truth) and same_tables(t, learnt), backend.name
        assert sink.budget[0] == 10 ** 9 - 3 - int((const < 0).sum()) * count
        assert sink.raw(np.array([32768, 32768]), None).tolist() == [1, 1]
        assert sink.empty()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_decoder_side_reports_an_empty_stream_and_the_budget(backend):
    rows, _, _, _ = random_chunk(3, 8, 1, 1, count=100)
    const = np.full((8, 1), -1, np.int64)
    writer = StreamWriter()
    writer.bits(np.ones(2, np.int64), np.full(2, 32768))
    sink = stream_sink(writer.finish())
    sink.raw(np.full(2, 32768), None)                                     # now empty
    with pytest.raises(FormatError, match="ends before"):
        backend.chunk(rows, 8, const, None, sink, None, None)
    writer = StreamWriter()
    writer.bits(np.ones(900, np.int64), np.full(900, 1000))
    sink = stream_sink(writer.finish(), budget=250)                       # 2.5 planes of 100
    with pytest.raises(FormatError, match="too short for the decisions"):
        backend.chunk(rows, 8, const, None, sink, None, None)
    assert sink.budget[0] < 0


def test_stream_reader_pops_what_was_pushed():
    rng = np.random.default_rng(5)
    k = rng.integers(exact.K_MIN, exact.K_MAX + 1, 400)
    bits = (rng.integers(0, 1 << 16, 400) < k).astype(np.int64)
    writer = StreamWriter()
    writer.bits(bits, k)
    reader = StreamReader(writer.finish())
    assert np.array_equal(reader.bits(k[:150]), bits[:150])
    assert np.array_equal(reader.bits(k[150:].reshape(50, 5)), bits[150:].reshape(50, 5))
    assert reader.empty()


def make_image(h, w, c, bits, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    base = np.stack([(x * (3 + i) + y * (2 + i)) for i in range(c)], 2) << max(0, bits - 8)
    img = (base + rng.integers(0, 1 << max(1, bits - 5), base.shape)) % (1 << bits)
    return img.astype(np.uint16 if bits > 8 else np.uint8)


def encode_with(img, backend, **options):
    settings = dict(effort=0, prior="none", mode="smallest", seed=0, device="cpu", overrides={},
                    progress=False, **options)
    enc = Encoder(img, order="given", backend=backend, **settings)
    return write(enc.run(), enc)


@pytest.mark.parametrize("shape,bits", [((33, 47, 3), 8), ((20, 30, 1), 16), ((270, 250, 3), 8)])
def test_files_identical_and_decodable_by_both_backends(shape, bits):
    """The encoder writes the same bytes through either backend, and both
    decoders read them (270x250 takes the threaded walker: more than one chunk)."""
    h, w, c = shape
    img = make_image(h, w, c, bits, seed=h)
    if c == 1:
        img = img[:, :, 0]
    datas = [encode_with(img, backend) for backend in BACKENDS]
    assert datas[0] == datas[1] == inrcodec.encode(img, effort=0, prior="none")
    for backend in BACKENDS:
        back = decoder.decode(datas[0], max_pixels=1 << 30, backend=backend)
        assert back.dtype == img.dtype and np.array_equal(back, img)


def test_truncated_stream_same_error_both_backends():
    img = make_image(64, 64, 3, 8, seed=1)
    data = inrcodec.encode(img, effort=0, prior="none")
    box = container.read(data)
    coded = box.get(container.DATA)
    cut = container.write([(t, v[: len(v) // 2 // 4 * 4] if t == container.DATA else v)
                           for t, v in box.chunks])
    errors = []
    for backend in BACKENDS:
        with pytest.raises(FormatError) as info:
            decoder.decode(cut, max_pixels=1 << 30, backend=backend)
        errors.append(str(info.value))
    assert errors[0] == errors[1] and len(coded) > 8


@pytest.mark.parametrize("bits,channels,h,w", [(8, 3, 37, 51), (16, 1, 64, 64), (1, 1, 20, 20), (12, 4, 33, 17)])
def test_features_equal_the_oracle(bits, channels, h, w):
    rng = np.random.default_rng(bits + channels)
    img = rng.integers(0, 1 << bits, (h, w, channels)).astype(np.uint16)
    img[: h // 3] //= 7                                         # smooth and busy parts
    for p in schedule.make_schedule(h, w):
        for start in range(0, p.count, schedule.CHUNK):
            ys, xs = p.coords(start, min(start + schedule.CHUNK, p.count))
            got = [COMPILED.features(img, p, ys, xs, bits, start), ORACLE.features(img, p, ys, xs, bits),
                   COMPILED.features(img, p, ys[::2], xs[::2], bits)]
            for field in ("feats", "anchor", "shift", "mix"):
                a, b, c = (getattr(g, field) for g in got)
                assert np.array_equal(a, b), (p.index, field)
                assert np.array_equal(a[::2], c), (p.index, field)       # any pixels, not only runs
    assert features.DIFF_LIMIT == 8 * exact.ACT_ONE
