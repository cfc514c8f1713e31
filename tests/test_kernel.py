"""The compiled kernels (inrcodec/kernel.py) give the numpy path's integers exactly:
the same probabilities, the same decoded values, the same bytes and the same errors."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inrcodec
from inrcodec import container, exact, kernel
from inrcodec.adapt import COUNT_LIMIT, Adapt
from inrcodec.entropy import StreamReader, StreamWriter
from inrcodec.errors import FormatError
from inrcodec.walker import decide_chunk


def random_head(rng, count: int, bits: int, channels: int = 1, spread: int = 1):
    """A Head with random outputs, including values beyond every clip limit."""
    out_features = 5 * channels + channels * (channels - 1)
    out = rng.integers(-spread * 70 * exact.ACT_ONE, spread * 70 * exact.ACT_ONE, (count, out_features))
    anchor = rng.integers(0, 1 << bits, (count, channels))
    shift = rng.integers(0, max(1, bits - 1), count)
    return exact.Head(out, anchor, shift, bits)


def numpy_decisions(head, const, truth):
    parts = []

    def decide(c, k, b):
        bit = (truth[:, c] >> b) & 1
        parts.append((bit, k))
        return bit

    return decide_chunk(head, const, decide), parts


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


def random_chunk(seed, bits, channels, spread, count=3000, adaptive=False):
    rng = np.random.default_rng(seed)
    head = random_head(rng, count, bits, channels, spread)
    if adaptive:
        head.adapt = trained_tables(rng, channels, bits)
    truth = rng.integers(0, 1 << bits, (count, channels))
    truth[:500] = head.anchor[:500]                           # near the mean: extreme probabilities
    const = np.full((bits, channels), -1, np.int64)
    if bits > 2:
        const[bits - 1, 0] = 0                                # a constant top plane
        truth[:, 0] &= (1 << (bits - 1)) - 1
    return head, truth, const


def same_tables(a, b) -> bool:
    return (a is None and b is None) or (np.array_equal(a.prob, b.prob) and np.array_equal(a.count, b.count))


@pytest.mark.parametrize("adaptive", [False, True])
@pytest.mark.parametrize("bits", [1, 2, 8, 12, 16])
@pytest.mark.parametrize("channels,spread", [(1, 1), (1, 4), (3, 1), (4, 4)])
def test_chunk_decisions_equal_numpy(bits, channels, spread, adaptive):
    head, truth, const = random_chunk(bits * 10 + spread + channels, bits, channels, spread,
                                      adaptive=adaptive)
    start = head.adapt.copy() if adaptive else None
    values, parts = numpy_decisions(head, const, truth)
    assert np.array_equal(values, truth)
    learnt, head.adapt = head.adapt, start
    fast_bits, fast_k = kernel.chunk_decisions(head, const, truth)
    assert same_tables(head.adapt, learnt)
    assert not adaptive or not same_tables(start, Adapt(channels, bits))
    assert len(fast_k) == len(parts) == int((const < 0).sum())
    for row, (bit, k) in enumerate(parts):
        assert np.array_equal(fast_k[row], k), row
        assert np.array_equal(fast_bits[row], bit), row


@pytest.mark.parametrize("adaptive", [False, True])
@pytest.mark.parametrize("bits,channels", [(1, 1), (8, 3), (16, 1), (12, 4)])
def test_decode_chunk_equals_numpy_and_continues_the_stream(bits, channels, adaptive):
    head, truth, const = random_chunk(bits + channels, bits, channels, 1, count=1500, adaptive=adaptive)
    start = head.adapt
    head.adapt = start.copy() if adaptive else None
    _, parts = numpy_decisions(head, const, truth)
    learnt = head.adapt
    writer = StreamWriter()
    writer.bits(np.array([1, 0, 1]), np.array([100, 40000, 65000]))      # decoded before the handover
    for bit, k in parts:
        writer.bits(bit, k)
    writer.bits(np.array([1, 1]), np.array([32768, 32768]))               # after the kernel
    data = writer.finish()

    slow = StreamReader(data)
    assert slow.bits(np.array([100, 40000, 65000])).tolist() == [1, 0, 1]
    head.adapt = start.copy() if adaptive else None
    got = decide_chunk(head, const, lambda c, k, b: slow.bits(k))
    assert np.array_equal(got, truth) and same_tables(head.adapt, learnt)

    fast = StreamReader(data)
    fast.bits(np.array([100, 40000, 65000]))
    ans = kernel.AnsState(fast.remaining_words())
    budget = np.array([10 ** 9], np.int64)
    head.adapt = start.copy() if adaptive else None
    got, err = kernel.decode_chunk(head, const, ans, budget)
    assert err == kernel.OK and np.array_equal(got, truth) and same_tables(head.adapt, learnt)
    assert budget[0] == 10 ** 9 - int((const < 0).sum()) * 1500
    assert kernel.decode_bits(np.array([32768, 32768]), ans).tolist() == [1, 1]
    assert ans.empty() and slow.bits(np.array([32768, 32768])).tolist() == [1, 1] and slow.empty()


def test_decode_chunk_reports_an_empty_stream_and_the_budget():
    head, _, _ = random_chunk(3, 8, 1, 1, count=100)
    const = np.full((8, 1), -1, np.int64)
    empty = kernel.AnsState(np.zeros(0, np.uint32))
    assert kernel.decode_chunk(head, const, empty, np.array([10 ** 6]))[1] == kernel.EMPTY
    writer = StreamWriter()
    writer.bits(np.ones(900, np.int64), np.full(900, 1000))
    ans = kernel.AnsState(StreamReader(writer.finish()).remaining_words())
    budget = np.array([250], np.int64)                                    # 2.5 planes of 100
    assert kernel.decode_chunk(head, const, ans, budget)[1] == kernel.OVER_BUDGET


def make_image(h, w, c, bits, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    base = np.stack([(x * (3 + i) + y * (2 + i)) for i in range(c)], 2) << max(0, bits - 8)
    img = (base + rng.integers(0, 1 << max(1, bits - 5), base.shape)) % (1 << bits)
    return img.astype(np.uint16 if bits > 8 else np.uint8)


@pytest.mark.parametrize("shape,bits", [((33, 47, 3), 8), ((20, 30, 1), 16), ((270, 250, 3), 8)])
def test_files_identical_and_decodable_by_both_paths(shape, bits, monkeypatch):
    """The encoder writes the same bytes with or without the kernels, and both
    decoders read them (270x250 takes the threaded walker: more than one chunk)."""
    h, w, c = shape
    img = make_image(h, w, c, bits, seed=h)
    if c == 1:
        img = img[:, :, 0]
    datas, backs = [], []
    for mode in ("numpy", "numba"):
        monkeypatch.setenv("LINR_KERNEL", mode)
        datas.append(inrcodec.encode(img, effort=0, prior="none"))
        backs.append(inrcodec.decode(datas[0]))
    assert datas[0] == datas[1]
    for back in backs:
        assert back.dtype == img.dtype and np.array_equal(back, img)


def test_kernel_mode_selection(monkeypatch):
    monkeypatch.setenv("LINR_KERNEL", "numpy")
    assert not kernel.wanted(1 << 30) and not kernel.preload()
    monkeypatch.setenv("LINR_KERNEL", "numba")
    assert kernel.wanted(1)


def test_truncated_stream_same_error_both_paths(monkeypatch):
    img = make_image(64, 64, 3, 8, seed=1)
    data = inrcodec.encode(img, effort=0, prior="none")
    box = container.read(data)
    coded = box.get(container.DATA)
    cut = container.write([(t, v[: len(v) // 2 // 4 * 4] if t == container.DATA else v)
                                    for t, v in box.chunks])
    errors = []
    for mode in ("numpy", "numba"):
        monkeypatch.setenv("LINR_KERNEL", mode)
        with pytest.raises(FormatError) as info:
            inrcodec.decode(cut)
        errors.append(str(info.value))
    assert errors[0] == errors[1] and len(coded) > 8


@pytest.mark.parametrize("bits,channels,h,w", [(8, 3, 37, 51), (16, 1, 64, 64), (1, 1, 20, 20), (12, 4, 33, 17)])
def test_features_equal_numpy(bits, channels, h, w, monkeypatch):
    from inrcodec import features, schedule
    rng = np.random.default_rng(bits + channels)
    img = rng.integers(0, 1 << bits, (h, w, channels)).astype(np.uint16)
    img[: h // 3] //= 7                                         # smooth and busy parts
    kernel.preload()
    for p in schedule.make_schedule(h, w):
        for ys, xs in p.chunks():
            got = []
            for mode in ("numpy", "numba"):
                monkeypatch.setenv("LINR_KERNEL", mode)
                got.append(features.pixel_context(img, p, ys, xs, bits))
            for field in ("feats", "anchor", "shift"):
                assert np.array_equal(getattr(got[0], field), getattr(got[1], field)), (p.index, field)


def test_without_numba_everything_goes_through_numpy(tmp_path):
    """numba unimportable: the kernels report unavailable, encode and decode still work."""
    script = """
import sys
sys.modules["numba"] = None                      # import numba -> ImportError
sys.path.insert(0, sys.argv[1])
import numpy as np, inrcodec
from inrcodec import kernel
img = (np.arange(300 * 240).reshape(300, 240) % 251).astype(np.uint8)
data = inrcodec.encode(img, effort=0, prior="none")
assert np.array_equal(inrcodec.decode(data), img)
print(kernel.preload(), kernel.wanted(1 << 30), kernel.ready())
"""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "LINR_KERNEL": "numba"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]
