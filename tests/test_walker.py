"""The walker: encoder-side and decoder-side walks agree, the schedule covers
every pixel once and reads only earlier passes, and a stream that ends early
is refused."""
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inrcodec
from inrcodec import container, decoder, schedule, threads, walker
from inrcodec.entropy import StreamWriter, int_decisions
from inrcodec.exact import bits_cost
from inrcodec.features import neighbour_coords
from inrcodec.model import NetConfig, seeded_init
from inrcodec.tables import WEIGHT_BITS
from inrcodec.groups import DEFAULT_GROUP, Group, layout, pack_streams
from inrcodec.walker import (DELTA, FLAGS, PIXELS, PLAIN, TERMINATOR, CostSink, Geometry, ImageSink,
                             constant_planes, stream_plan, walk, walk_constants, walk_terminator)
from inrcodec.wire import SEEDED, Delta, Header, ImageInfo, int_params, pixel_hash


# -- helpers -------------------------------------------------------------------------

def as3(img: np.ndarray) -> np.ndarray:
    return (img[:, :, None] if img.ndim == 2 else img).astype(np.int64)


def image_info(img: np.ndarray, bits: int) -> ImageInfo:
    c = 1 if img.ndim == 2 else img.shape[2]
    return ImageInfo(img.shape[0], img.shape[1], c, bits, img.dtype == np.uint16, img.ndim == 2)


def some_delta(cfg: NetConfig, seed: int) -> Delta:
    """A delta that makes the network's outputs depend on the pixel (the seeded
    output layer is all zeros)."""
    rng = np.random.default_rng(seed)
    shapes = cfg.shapes()
    n = len(shapes)
    return Delta({0: (10, rng.integers(-40, 41, shapes[0])),
                  n - 2: (WEIGHT_BITS, rng.integers(-(1 << 11), 1 << 11, shapes[n - 2])),
                  n - 1: (8, rng.integers(-20, 21, shapes[n - 1]))})


def walker_file(img: np.ndarray, *, hidden=8, seed=3, delta=True, group_size=DEFAULT_GROUP):
    """Encode with the walker's sinks directly, following the stream plan the
    decoder reads (format 5: the delta's stream, then per group the
    constant-plane flags, pixels, terminator), each stream coded in decoding
    order by StreamWriter. Returns (file bytes, ideal code length in bits,
    number of decisions)."""
    img3 = as3(img)
    bits = max(1, int(img.max()).bit_length())
    info = image_info(img, bits)
    cfg = NetConfig(channels=info.channels, hidden=hidden, layers=2, activation="relu")
    d = some_delta(cfg, seed) if delta else Delta()
    weights = d.apply(seeded_init(cfg, seed))
    streams, ideal, decisions = [], 0.0, 0
    for part in stream_plan(d.tensors, info.height, info.width, group_size):
        stream = StreamWriter()
        if part.group is not None:
            g3 = np.ascontiguousarray(part.group.region(img3))
            geom = Geometry(part.group.height, part.group.width, info.channels, bits)
            const = constant_planes(g3, bits)
            cost = CostSink(g3)
        for seg in part.segments:
            if seg.kind == DELTA:
                q = d.tensors[seg.tensor][1]
                stream.ints(q, *int_params(q))
                ideal += sum(bits_cost(k, b) for b, k in int_decisions(q, *int_params(q)))
                continue
            sink = ImageSink(None if part.group is None else g3)
            if seg.kind == FLAGS:
                assert np.array_equal(walk_constants(const, geom, sink), const)
                walk_constants(const, geom, cost)
            elif seg.kind == PIXELS:
                assert np.array_equal(walk(geom, cfg, weights, const, sink), g3)
                walk(geom, cfg, weights, const, cost)
            else:
                walk_terminator(sink)
                ideal += sum(bits_cost(k, b) for b, k in sink.parts)
            for b, k in sink.parts:
                stream.bits(b, k)
            decisions += sum(np.size(b) for b, _k in sink.parts)
        if part.group is not None:
            ideal += cost.cost
        streams.append(stream.finish())
    header = Header(info, cfg, SEEDED, seed, pixel_hash(img, info), group_size=group_size)
    chunks = [(container.HEADER, header.pack())]
    if d.tensors:
        chunks.append((container.DELTA, d.pack()))
    chunks.append((container.DATA, pack_streams(streams)))
    return container.write(chunks), ideal, decisions


def test_stream_plan_order():
    """Formats 2-4: delta tensors ascending, then flags, pixels, terminator in one
    stream. Format 5: the delta's stream, then one per group, in raster order."""
    (one,) = stream_plan({5: 0, 1: 0}, 40, 30)
    assert [(s.kind, s.tensor) for s in one.segments] == [
        (DELTA, 1), (DELTA, 5), (FLAGS, -1), (PIXELS, -1), (TERMINATOR, -1)]
    assert one.group == Group(0, 0, 0, 40, 30)
    assert [s.kind for s in stream_plan({}, 4, 4)[0].segments] == [FLAGS, PIXELS, TERMINATOR]
    plan = stream_plan({2: 0}, 70, 40, (32, 32))
    assert [[s.kind for s in p.segments] for p in plan] == [[DELTA, TERMINATOR]] + [[FLAGS, PIXELS, TERMINATOR]] * 6
    assert [p.group for p in plan] == [None] + [Group(0, 0, 0, 32, 32), Group(1, 0, 32, 32, 8),
                                                Group(2, 32, 0, 32, 32), Group(3, 32, 32, 32, 8),
                                                Group(4, 64, 0, 6, 32), Group(5, 64, 32, 6, 8)]
    assert [p.group.index for p in stream_plan({}, 70, 40, (32, 32))] == list(range(6))
    # format 10: any multiple of 32 each way, cut short at the edges the same way
    assert [p.group for p in stream_plan({}, 70, 40, (64, 32))] == [
        Group(0, 0, 0, 32, 40), Group(1, 32, 0, 32, 40), Group(2, 64, 0, 6, 40)]


def test_groups_decode_alike_in_any_layout():
    """Groups of 32 (many, cut short at the edges) and one group: both decode exactly,
    and the small groups' walker file codes each group as an image of its own."""
    img = textured((70, 45, 3), 8, seed=9)
    for size in ((32, 32), (64, 64), DEFAULT_GROUP, (32, 64), (96, 32)):
        data, ideal, _ = walker_file(img, group_size=size)
        assert np.array_equal(inrcodec.decode(data), img)
        assert inrcodec.info(data)["groups"] == len(layout(70, 45, size))
        coded = container.read(data).get(container.DATA)
        assert 8 * len(coded) <= ideal * 1.01 + 96 * len(layout(70, 45, size)) + 64


def check_agree(img: np.ndarray):
    data, ideal, _ = walker_file(img)
    back = inrcodec.decode(data)
    assert back.dtype == img.dtype and back.shape == img.shape
    assert np.array_equal(back, img)
    coded = container.read(data).get(container.DATA)
    assert 8 * len(coded) <= ideal * 1.01 + 96        # ANS within a hair of the ideal length
    # the public encoder (the same walker) agrees with the decoder too
    pub = inrcodec.encode(img, effort=0, prior="none")
    assert np.array_equal(inrcodec.decode(pub), img)
    return pub


def textured(shape, bits, seed=0):
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    y, x = np.mgrid[:h, :w]
    top = (1 << bits) - 1
    base = (x * (top // max(1, w)) + y * (top // max(1, 2 * h)))
    img = base[..., None] if len(shape) == 3 else base
    if len(shape) == 3:
        img = img + np.arange(shape[2]) * (top // 5)
    noise = rng.integers(-(top // 16) - 1, top // 16 + 2, img.shape)
    img = np.clip(img + noise, 0, top)
    img.flat[0] = top                      # use every plane
    return img.astype(np.uint16 if bits > 8 else np.uint8)


# -- encoder-side and decoder-side walks agree ------------------------------------------

SHAPES = [(1, 1), (1, 9), (11, 1), (1, 1, 3), (3, 3, 4), (17, 5, 2), (33, 65, 3), (2, 2), (40, 33)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_walks_agree_shapes(shape):
    check_agree(textured(shape, 8, seed=len(shape)))


@pytest.mark.parametrize("bits", [1, 2, 5, 8, 9, 12, 16])
@pytest.mark.parametrize("channels", [0, 3])
def test_walks_agree_bit_depths(bits, channels):
    shape = (9, 13) if channels == 0 else (6, 7, channels)
    check_agree(textured(shape, bits, seed=bits))


@pytest.mark.parametrize("img", [
    np.zeros((1, 1), np.uint8), np.full((1, 1), 255, np.uint8), np.full((9, 7), 91, np.uint8),
    np.zeros((5, 4, 3), np.uint8), np.full((5, 4, 3), 65535, np.uint16),
    np.full((3, 6, 2), 1, np.uint16), np.full((70, 3), 200, np.uint8),
], ids=lambda a: f"{a.dtype}-{'x'.join(map(str, a.shape))}-{int(a.flat[0])}")
def test_walks_agree_constant_images(img):
    data = check_agree(img)
    img3, bits = as3(img), max(1, int(img.max()).bit_length())
    cfg = NetConfig(channels=img3.shape[2])
    # only the flags: 4 bits (P = 1/16) + 1 bit per plane and channel
    assert 8 * len(container.read(data).get(container.DATA)) <= 5 * bits * img3.shape[2] + 64
    # no pixel decision at all: the sink is never asked
    known = walk(Geometry(*img3.shape, bits), cfg, seeded_init(cfg, 0), constant_planes(img3, bits), None)
    assert np.array_equal(known, img3)


def _planes_cases():
    rng = np.random.default_rng(9)
    r = rng.integers(0, 256, (15, 11))
    cases = {
        "multiples_of_16": (r & 0xF0).astype(np.uint8) | np.uint8(0x80),
        "top_bit_only": (0x35 | ((r & 1) << 7)).astype(np.uint8),
        "some_planes_one": (r | 0x24).astype(np.uint8),
        "16bit_low_byte_constant": ((r.astype(np.uint16) << 8) | 0x5A).astype(np.uint16),
        "12bit_top_only": (0x123 | ((r & 1) << 11)).astype(np.uint16),
        "rgb_one_constant_channel": np.stack([np.full_like(r, 77), r, r & 0xF8], 2).astype(np.uint8),
        "rgba_opaque": np.stack([r, r // 2, 255 - r, np.full_like(r, 255)], 2).astype(np.uint8),
    }
    return cases


@pytest.mark.parametrize("name", sorted(_planes_cases()))
def test_walks_agree_constant_planes(name):
    img = _planes_cases()[name]
    bits = max(1, int(img.max()).bit_length())
    const = constant_planes(as3(img), bits)
    assert (const >= 0).any() and (const < 0).any()
    check_agree(img)
    # constant planes are not coded: flags + varying planes x pixels decisions
    _, _, decisions = walker_file(img, delta=False)
    flags = bits * const.shape[1] + int((const >= 0).sum())
    assert decisions == flags + int((const < 0).sum()) * img.shape[0] * img.shape[1] + 2   # + terminator


def test_constant_planes_definition():
    img3 = np.array([[[0b1010, 0b0001]], [[0b1110, 0b0011]]], np.int64)   # 2 x 1 x 2
    const = constant_planes(img3, 4)
    # channel 0: plane 0 always 0, plane 1 always 1, plane 2 varies, plane 3 always 1
    assert const[:, 0].tolist() == [0, 1, -1, 1]
    # channel 1: plane 0 always 1, plane 1 varies, planes 2-3 always 0
    assert const[:, 1].tolist() == [1, -1, 0, 0]


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(0, 4), bits=st.integers(1, 16),
       and_mask=st.integers(0, 0xFFFF), or_mask=st.integers(0, 0xFFFF), seed=st.integers(0, 99))
def test_walks_agree_random(h, w, c, bits, and_mask, or_mask, seed):
    """Random geometry, depth and constant planes (an AND / OR mask fixes some planes)."""
    rng = np.random.default_rng(seed)
    shape = (h, w) if c == 0 else (h, w, c)
    top = (1 << bits) - 1
    img = (rng.integers(0, top + 1, shape) & and_mask | or_mask) & top
    img = img.astype(np.uint16 if bits > 8 else np.uint8)
    if not img.any():
        img.flat[0] = 1
    data, _, _ = walker_file(img, seed=seed)
    back = inrcodec.decode(data)
    assert back.dtype == img.dtype and back.shape == img.shape and np.array_equal(back, img)


def test_chunking_changes_nothing_but_order(monkeypatch):
    """Pixels of one pass do not see each other: without the adaptive tables
    (format 2) a pass split in chunks of 5 pixels has exactly the same
    probabilities. With them (format 3) the chunk is the batch the tables
    learn from, so the cost changes, and both sides still agree."""
    img = textured((23, 29, 3), 8, seed=4)
    img3 = as3(img)
    cfg = NetConfig(channels=3, hidden=8)
    weights = some_delta(cfg, 1).apply(seeded_init(cfg, 1))
    geom, const = Geometry(23, 29, 3, 8, PLAIN), constant_planes(img3, 8)

    def cost():
        sink = CostSink(img3)
        walk(geom, cfg, weights, const, sink)
        return sink.cost
    default = cost()
    monkeypatch.setattr(walker, "CHUNK", 5)             # the walker's own name for it
    assert len(walker.chunk_order(geom)) > 2 * len(schedule.make_schedule(23, 29))
    assert cost() == pytest.approx(default, rel=1e-12)
    data, _, _ = walker_file(img)
    assert np.array_equal(inrcodec.decode(data), img)


def test_pass_larger_than_a_chunk():
    """A real image whose finest pass holds more than CHUNK pixels (two batches)."""
    img = textured((370, 370), 8, seed=6)
    assert max(len(p.ys) for p in schedule.make_schedule(370, 370)) > schedule.CHUNK
    data = inrcodec.encode(img, effort=0, prior="none")
    assert np.array_equal(inrcodec.decode(data), img)


@pytest.mark.parametrize("hw,chunk", [((40, 37), 16), ((64, 64), 50), ((23, 90), 9), ((90, 23), 31),
                                      ((100, 100), 200)])
def test_next_pass_starts_early_only_on_decoded_rows(monkeypatch, hw, chunk):
    """walker.reads_above lets the decoder make a next pass's first chunk while this
    pass's chunk `before` is decided: every neighbour that chunk reads in this pass
    must then come before `before` (and it is allowed somewhere, or this checks nothing)."""
    h, w = hw
    monkeypatch.setattr(walker, "CHUNK", chunk)
    passes = schedule.make_schedule(h, w)
    allowed = 0
    for p, q in zip(passes, passes[1:]):
        for before in range(0, p.count, chunk):
            for start in range(0, q.count, chunk):
                if not walker.reads_above(q, start, p, before):
                    continue
                allowed += 1
                ys, xs = q.coords(start, min(start + chunk, q.count))
                ny, nx = neighbour_coords(q, ys, xs, h, w)
                pos = {(int(y), int(x)): i for i, (y, x) in enumerate(zip(*p.coords(0, p.count)))}
                seen = [pos[yx] for yx in zip(ny.ravel().tolist(), nx.ravel().tolist()) if yx in pos]
                assert seen and max(seen) < before
    assert allowed > 0


def test_early_next_pass_decodes_exactly(monkeypatch):
    """The decoder with a worker thread and small chunks, so that many passes start
    early: the same pixels as the encoder's walk."""
    monkeypatch.setattr(walker, "CHUNK", 96)
    img = textured((61, 52, 3), 8, seed=11)
    data = inrcodec.encode(img, effort=0, prior="none")
    threads.configure(2)
    try:
        assert np.array_equal(inrcodec.decode(data), img)
    finally:
        threads.configure(None)


def test_stream_that_ends_early_is_refused_at_once():
    """The terminator keeps the ANS state off zero: a valid stream is never empty
    before its last decision, so a cut stream is refused at the batch that finds it."""
    img = textured((24, 20), 8, seed=2)
    img[12:] = 0
    data, _, _ = walker_file(img)
    box = container.read(data)
    coded = box.get(container.DATA)
    cut = container.write([(t, d) for t, d in box.chunks if t != container.DATA]
                          + [(container.DATA, coded[len(coded) // 2 // 4 * 4:])])
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(cut)


# -- the schedule ------------------------------------------------------------------------

SCHEDULE_SIZES = [(1, 1), (1, 2), (2, 1), (1, 7), (7, 1), (2, 2), (3, 3), (5, 17), (17, 5), (33, 65),
                  (64, 64), (65, 64), (100, 37), (130, 3), (3, 130), (31, 33)]


@pytest.mark.parametrize("hw", SCHEDULE_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_schedule_covers_once_and_reads_earlier_passes(hw):
    h, w = hw
    passes = schedule.make_schedule(h, w)
    order = np.full((h, w), -1)
    count = np.zeros((h, w), int)
    assert passes[0].kind == schedule.GRID and len(passes[0].offsets) == 0
    assert all(a.index < b.index for a, b in zip(passes, passes[1:]))   # empty passes dropped
    for i, p in enumerate(passes):
        assert len(p.ys) > 0
        assert (p.ys >= 0).all() and (p.ys < h).all() and (p.xs >= 0).all() and (p.xs < w).all()
        raster = p.ys * w + p.xs
        assert (np.diff(raster) > 0).all()                     # raster order, no repeat
        np.add.at(count, (p.ys, p.xs), 1)
        order[p.ys, p.xs] = i
        if p.kind != schedule.GRID:
            assert p.offsets.shape == (12, 2)
            ny, nx = neighbour_coords(p, p.ys, p.xs, h, w)
            assert ny.shape == (12, len(p.ys))
            assert (ny >= 0).all() and (ny < h).all() and (nx >= 0).all() and (nx < w).all()
            assert (order[ny, nx] >= 0).all() and (order[ny, nx] < i).all(), \
                f"pass {i} reads a pixel of its own or a later pass"
        chunks = list(p.chunks())
        assert np.array_equal(np.concatenate([c[0] for c in chunks]), p.ys)
    assert (count == 1).all()
    stride = 1 << schedule.levels_for(h, w)                    # the grid pass is the coarsest lattice
    assert (passes[0].ys % stride == 0).all() and (passes[0].xs % stride == 0).all()
    assert len(passes[0].ys) == (-(-h // stride)) * (-(-w // stride))


def test_schedule_levels_and_grid():
    assert schedule.levels_for(1, 1) == 0
    assert schedule.levels_for(2, 1) == 1
    assert schedule.levels_for(33, 5) == 5
    assert schedule.levels_for(5000, 3) == schedule.MAX_LEVELS
    p = schedule.make_schedule(100, 70)[0]
    assert set(p.ys.tolist()) == {0, 32, 64, 96} and set(p.xs.tolist()) == {0, 32, 64}
    assert len(schedule.make_schedule(1, 1)) == 1


def test_nearest_neighbours_are_at_distance_s():
    for p in schedule.make_schedule(64, 64)[1:]:
        s = 1 << p.level
        d = np.abs(p.offsets[:schedule.NEAR]).sum(axis=1)
        assert (d == (2 * s if p.kind == schedule.CENTRE else s)).all()


# -- exhausted / empty coded data ------------------------------------------------------------

def _large_empty_file(side: int, right_hash: bool) -> bytes:
    small = inrcodec.encode(np.arange(64, dtype=np.uint8).reshape(8, 8), effort=0, prior="none")
    box = container.read(small)
    h = Header.unpack(box.get(container.HEADER), box.version)
    info = ImageInfo(side, side, 1, 8, False, True)
    pixels = pixel_hash(np.zeros((side, side), np.uint8), info) if right_hash else b"\1\2\3\4"
    hdr = Header(info, h.cfg, h.prior, h.seed, pixels, group_size=h.group_size)
    empty = pack_streams([b""] * len(layout(side, side, h.group_size)))     # every group's stream empty
    return (container.SIGNATURE + bytes([container.VERSION])
            + container.chunk_bytes(container.HEADER, hdr.pack())
            + container.chunk_bytes(container.DATA, empty))


def test_empty_stream_is_refused_at_once():
    """An empty coded stream cannot even hold the constant-plane flags: the first
    decision finds it empty (the right pixel hash does not help)."""
    data = _large_empty_file(2048, True)
    container.read(data)                       # a valid container (CRCs right)
    with pytest.raises(inrcodec.FormatError, match="ends before the image"):
        inrcodec.decode(data)


def test_empty_stream_with_wrong_hash_is_a_format_error():
    data = _large_empty_file(2048, False)
    t0 = time.perf_counter()
    with pytest.raises(inrcodec.FormatError, match="ends before the image"):
        inrcodec.decode(data)
    assert time.perf_counter() - t0 < 8


def test_truncated_stream_is_refused_quickly():
    img = textured((64, 64, 3), 8, seed=1)
    data = inrcodec.encode(img, effort=0, prior="none")
    box = container.read(data)
    coded = box.get(container.DATA)
    for keep in (0, 4, len(coded) // 2, len(coded) - 4):
        chunks = [(t, (coded[:keep] if t == container.DATA else d)) for t, d in box.chunks]
        t0 = time.perf_counter()
        with pytest.raises(inrcodec.LinrError):
            inrcodec.decode(container.write(chunks))
        assert time.perf_counter() - t0 < 5


def _mask_schedule(h, w):
    """The passes as the format defines them (formats/linr.md): lattice masks, raster order."""
    L = schedule.levels_for(h, w)
    y, x = np.mgrid[:h, :w]
    S = 1 << L
    masks = [(y % S == 0) & (x % S == 0)]
    for k in range(L - 1, -1, -1):
        s = 1 << k
        ym, xm = y % (2 * s), x % (2 * s)
        masks += [(ym == s) & (xm == s), ((ym == s) & (xm == 0)) | ((ym == 0) & (xm == s))]
    return [np.nonzero(m) for m in masks if m.any()]


@pytest.mark.parametrize("hw", SCHEDULE_SIZES + [(517, 300), (1, 600), (600, 1)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_lazy_passes_equal_the_mask_definition(hw):
    """Pass pixels are computed from the lattice, a run at a time; they are the
    masks' pixels in raster order, and position() inverts coords()."""
    h, w = hw
    passes = schedule.make_schedule(h, w)
    want = _mask_schedule(h, w)
    assert len(passes) == len(want)
    for p, (ys, xs) in zip(passes, want):
        assert p.count == len(ys)
        got = p.coords(0, p.count)
        assert np.array_equal(got[0], ys) and np.array_equal(got[1], xs)
        for i in {0, p.count // 3, p.count - 1}:
            assert p.position(int(ys[i]), int(xs[i])) == i
            a, b = p.coords(i, p.count)
            assert np.array_equal(a, ys[i:]) and np.array_equal(b, xs[i:])


def test_backward_walk_same_bytes_whether_it_keeps_or_recomputes(monkeypatch):
    """The encoder's backward walk keeps the forward walk's decisions of a small
    image, and recomputes each chunk from saved adaptive tables for a large one:
    both give the same file (several chunks: CHUNK shrunk to 40 pixels)."""
    import inrcodec.encoder as encoder
    import inrcodec.walker as walker
    monkeypatch.setattr(schedule, "CHUNK", 40)
    monkeypatch.setattr(walker, "CHUNK", 40)
    img = textured((19, 23, 3), 8, seed=9)
    kept = inrcodec.encode(img, effort=0, prior="none")
    monkeypatch.setattr(encoder, "KEEP_DECISIONS", 0)
    recomputed = inrcodec.encode(img, effort=0, prior="none")
    assert kept == recomputed and np.array_equal(inrcodec.decode(kept), img)


def test_a_small_known_images_rows_made_at_once_are_each_chunks_own():
    """The encoder's small images run the trunk once over every chunk (walker._rows_at_once):
    each chunk gets the rows the chunk-by-chunk path makes, to the bit."""
    rng = np.random.default_rng(11)
    img3 = rng.integers(0, 256, (40, 56, 3)).astype(np.uint8)
    cfg = NetConfig(channels=3, hidden=16, layers=2, activation="relu")
    weights = some_delta(cfg, 5).apply(seeded_init(cfg, 5))
    order = walker.chunk_order(Geometry(40, 56, 3, 8))
    assert len(order) > 5
    made = walker._rows_at_once(cfg, weights, img3, order, 8, walker.COMPILED)
    for (p, start), rows in zip(order, made):
        one = walker._rows(cfg, weights, img3, p, start, min(start + schedule.CHUNK, p.count), 8,
                           walker.COMPILED)
        assert all(np.array_equal(a, b) for a, b in zip(rows, one))


def test_the_cost_meter_adds_each_decisions_length_in_order():
    """CostSink sums a chunk's rows at once; the total is, to the bit, the sum of bits_cost
    over the recorded rows in decoding order."""
    rng = np.random.default_rng(12)
    img3 = rng.integers(0, 256, (24, 24, 3)).astype(np.int64)
    cfg = NetConfig(channels=3, hidden=8, layers=2, activation="relu")
    weights = some_delta(cfg, 3).apply(seeded_init(cfg, 3))
    geom, const = Geometry(24, 24, 3, 8), constant_planes(img3, 8)
    rec, cost = ImageSink(img3), CostSink(img3)
    walk(geom, cfg, weights, const, rec, known=img3)
    walk(geom, cfg, weights, const, cost, known=img3)
    total = 0.0
    for bit, k in rec.parts:
        total += bits_cost(k, bit)
    assert cost.cost == total and total > 0
