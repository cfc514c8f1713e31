"""linr's ANS coder is constriction's: the encoder (kernels.push_bits behind
entropy.BackwardWriter) writes the words constriction's AnsCoder writes, and the decoder
(kernels.pop_bits behind entropy.StreamReader) pops the bits constriction decodes, for every
probability the format allows, from valid streams, past their end and from random words."""
import constriction
import numpy as np
import pytest

from inrcodec.entropy import BackwardWriter, StreamReader, StreamWriter

BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


def constriction_words(parts) -> bytes:
    coder = constriction.stream.stack.AnsCoder()
    for bits, k in reversed(parts):
        if np.size(bits):
            coder.encode_reverse(np.asarray(bits, np.int32), BERNOULLI, np.asarray(k, np.float64) / 65536)
    return coder.get_compressed().astype("<u4").tobytes()


def random_parts(rng, trial):
    parts = []
    for _ in range(int(rng.integers(0, 6))):
        n = int(rng.integers(0, 2000))
        kind = trial % 4
        if kind == 0:
            k = rng.integers(1, 65536, n)
        elif kind == 1:                          # the extremes and the format's fixed ks
            k = rng.choice([1, 2, 64, 4096, 32768, 65472, 65534, 65535], n)
        elif kind == 2:
            k = rng.integers(60000, 65536, n)
        else:
            k = rng.integers(1, 200, n)
        # bits drawn from k (the usual stream) or against it (the dearest one)
        bits = (rng.random(n) < k / 65536) if trial % 3 else rng.integers(0, 2, n)
        parts.append((bits.astype(np.uint8), k.astype(np.uint16)))
    return parts


@pytest.mark.parametrize("seed", range(4))
def test_words_are_constrictions(seed):
    rng = np.random.default_rng(seed)
    for trial in range(60):
        parts = random_parts(rng, trial)
        writer = BackwardWriter()
        writer.push(parts)
        assert writer.finish() == constriction_words(parts), trial


def constriction_bits(data: bytes, k) -> np.ndarray:
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, "<u4").astype(np.uint32))
    return coder.decode(BERNOULLI, np.asarray(k, np.float64) / 65536).astype(np.int64)


@pytest.mark.parametrize("seed", range(3))
def test_pops_are_constrictions(seed):
    """Valid streams read too far (past their end the state is 0 and every bit 0), and
    random words (any stream a damaged file holds), with the ks of random_parts."""
    rng = np.random.default_rng(100 + seed)
    for trial in range(40):
        parts = random_parts(rng, trial)
        if trial % 2:
            data = constriction_words(parts)
        else:
            words = rng.integers(0, 1 << 32, int(rng.integers(1, 40)), dtype=np.uint64).astype(np.uint32)
            words[-1] |= 1                         # a stream never ends in a zero word
            data = words.astype("<u4").tobytes()
        k = np.concatenate([p[1] for p in parts] + [rng.integers(1, 65536, 50).astype(np.uint16)])
        reader, expected, cut = StreamReader(data), constriction_bits(data, k), len(k) // 3
        assert np.array_equal(reader.bits(k[:cut]), expected[:cut]), trial
        assert np.array_equal(reader.bits(k[cut:]), expected[cut:]), trial


def test_pushes_in_steps_equal_one_push_and_decode():
    rng = np.random.default_rng(7)
    parts = random_parts(rng, 0) + random_parts(rng, 1) + [(np.ones(3, np.uint8), np.full(3, 40000, np.uint16))]
    once, steps = BackwardWriter(), BackwardWriter()
    once.push(parts)
    for part in reversed(parts):              # last-decoded first, one part at a time
        steps.push([part])
    data = once.finish()
    assert steps.finish() == data
    reader = StreamReader(data)
    for bits, k in parts:
        assert np.array_equal(reader.bits(k.astype(np.int64)), bits)
    assert reader.empty()


def test_empty_and_int_decisions():
    assert BackwardWriter().finish() == b""
    writer = StreamWriter()
    q = np.array([0, 1, -1, 5, -300, 1 << 20, -(1 << 20) + 3])
    writer.ints(q, 9000, 30000)
    writer.bits(np.array([1, 0, 1]), np.array([65535, 1, 32768]))
    reader = StreamReader(writer.finish())
    assert np.array_equal(reader.ints(len(q), 9000, 30000), q)
    assert np.array_equal(reader.bits(np.array([65535, 1, 32768])), [1, 0, 1])


@pytest.mark.parametrize("k", [0, 65536, -5])
def test_probability_outside_the_format_is_refused(k):
    with pytest.raises(ValueError, match="probability"):
        BackwardWriter().push([(np.array([1, 0]), np.array([100, k]))])
