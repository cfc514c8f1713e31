"""formats/reference/rans.py decodes constriction's AnsCoder streams bit for bit."""

import importlib.util
from pathlib import Path

import constriction
import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "linr_ref_rans", Path(__file__).resolve().parent.parent / "formats" / "reference" / "rans.py")
rans = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rans)

BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)
RATIOS = (64, 128, 176, 208, 224, 236, 244, 249, 252, 254, 255)


def geometric_weights(max_abs, ratio):
    """Integer weights of linr's two-sided geometric pmf over [-max_abs, max_abs]."""
    w, v = [], 1 << 40
    for _ in range(max_abs + 1):
        w.append(max(v, 1))
        v = (v * ratio) >> 8
    return w[:0:-1] + w


def float_pmf(weights):
    full = np.array(weights, np.int64).astype(np.float64)
    return full / full.sum()                   # as inrcodec.entropy.geometric_pmf does


def single_symbol_state(symbol, model, *params):
    """Encoding one symbol into an empty coder leaves state = cdf[symbol]: read the table."""
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(np.array([symbol], np.int32), model, *params)
    words = [int(x) for x in coder.get_compressed()]
    assert len(words) <= 1
    return words[0] if words else 0


def test_bernoulli_table_every_k():
    # cdf1 of every P1 = k/65536, read straight out of constriction
    for k in list(range(1, 300)) + list(range(65236, 65536)) + list(range(300, 65236, 97)):
        got = single_symbol_state(1, BERNOULLI, np.array([k / 65536]))
        assert got == rans.bernoulli_cdf(k)[1], k


def test_categorical_tables():
    rng = np.random.default_rng(1)
    cases = [geometric_weights(m, r) for m in (1, 2, 3, 7, 40) for r in RATIOS]
    cases += [geometric_weights(1000, 255), geometric_weights(4000, 254),
              geometric_weights(3000, 64)]
    cases += [list(rng.integers(1, 1 << 40, int(rng.integers(2, 30)))) for _ in range(20)]
    for weights in cases:
        probs = float_pmf(weights)
        assert rans.geometric_probabilities(weights) == list(probs)
        model = constriction.stream.model.Categorical(probs, perfect=False)
        cdf = rans.categorical_cdf(list(probs))
        got = [single_symbol_state(s, model) for s in range(len(weights))]
        assert got == cdf[:-1]


def test_categorical_tables_float_rule():
    # arbitrary float64 probabilities, including tiny and unnormalised ones
    rng = np.random.default_rng(2)
    for trial in range(40):
        n = int(rng.integers(2, 50))
        probs = rng.random(n) ** int(rng.integers(1, 40)) * 10.0 ** float(rng.integers(-5, 5))
        if trial % 4 == 0:
            probs[rng.integers(n)] = 0.0
        if probs.sum() == 0:
            probs[0] = 1.0
        model = constriction.stream.model.Categorical(probs, perfect=False)
        cdf = rans.categorical_cdf(list(probs))
        assert all(b > a for a, b in zip(cdf, cdf[1:]))
        for s in range(n):
            assert single_symbol_state(s, model) == cdf[s]


def encode(parts):
    """parts: ('bit', bits, k16s) or ('cat', symbols, weights), in decoding order."""
    coder = constriction.stream.stack.AnsCoder()
    for kind, sym, prm in reversed(parts):
        sym = np.asarray(sym, np.int32)
        if not sym.size:
            continue
        if kind == "bit":
            coder.encode_reverse(sym, BERNOULLI, np.asarray(prm, np.float64) / 65536)
        else:
            coder.encode_reverse(sym, constriction.stream.model.Categorical(
                float_pmf(prm), perfect=False))
    return coder.get_compressed()


def decode(words, parts):
    dec = rans.AnsDecoder(list(words))
    out = []
    for kind, sym, prm in parts:
        if kind == "bit":
            out.append([dec.decode_bit(int(k)) for k in prm])
        else:
            cdf = rans.categorical_cdf(rans.geometric_probabilities(prm))
            out.append([dec.decode_with_cdf(cdf) for _ in range(len(sym))])
    return dec, out


def constriction_decode(words, parts):
    coder = constriction.stream.stack.AnsCoder(words)
    empties = []
    for kind, sym, prm in parts:
        if kind == "bit" and len(prm):
            coder.decode(BERNOULLI, np.asarray(prm, np.float64) / 65536)
        elif kind == "cat" and len(sym):
            coder.decode(constriction.stream.model.Categorical(float_pmf(prm), perfect=False),
                         len(sym))
        empties.append(coder.is_empty())
    return empties


def random_bits(rng, n):
    mode = int(rng.integers(4))
    if mode == 0:
        k = rng.integers(1, 65536, n)
    elif mode == 1:
        k = rng.choice([1, 2, 65534, 65535], n)
    elif mode == 2:
        k = rng.choice([1, 65535, 32768, 4096, 61440], n)
    else:
        k = np.full(n, int(rng.integers(1, 65536)))
    if rng.random() < 0.5:
        bits = (rng.random(n) < k / 65536).astype(np.int32)   # typical: follow the model
    else:
        bits = rng.integers(0, 2, n).astype(np.int32)         # hostile: against it
    return ("bit", bits, k)


def random_cat(rng, n):
    m = int(rng.integers(1, 12))
    r = int(rng.choice(RATIOS))
    weights = geometric_weights(m, r)
    if rng.random() < 0.5:
        sym = rng.integers(0, 2 * m + 1, n)
    else:
        pmf = float_pmf(weights)
        sym = rng.choice(2 * m + 1, n, p=pmf / pmf.sum())
    return ("cat", sym, weights)


@pytest.mark.parametrize("seed", range(6))
def test_streams_round_trip(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        parts = []
        for _ in range(int(rng.integers(0, 4))):
            n = int(rng.integers(0, 200))
            parts.append(random_cat(rng, n) if rng.random() < 0.3 else random_bits(rng, n))
        words = encode(parts)
        dec, out = decode(words, parts)
        assert [list(map(int, s)) for _, s, _ in parts] == out
        assert dec.is_empty() and not dec.words
        assert constriction_decode(words, parts)[-1:] in ([], [True])


def test_empty_and_single_symbol_streams():
    assert list(encode([])) == []
    dec = rans.AnsDecoder([])
    assert dec.is_empty()
    for k in (1, 2, 32768, 65534, 65535):
        for bit in (0, 1):
            parts = [("bit", [bit], [k])]
            words = encode(parts)
            dec, out = decode(words, parts)
            assert out == [[bit]] and dec.is_empty()
    for weights in (geometric_weights(1, 64), geometric_weights(5, 255)):
        for s in range(len(weights)):
            parts = [("cat", [s], weights)]
            dec, out = decode(encode(parts), parts)
            assert out == [[s]] and dec.is_empty()


def test_end_condition_matches_on_garbage():
    # decoding words that are not what the model expects: both coders stay in lock step,
    # symbol by symbol, and agree on is_empty after every symbol
    rng = np.random.default_rng(5)
    for _ in range(60):
        n_words = int(rng.integers(0, 6))
        words = rng.integers(0, 1 << 32, n_words, dtype=np.uint64).astype(np.uint32)
        if n_words and words[-1] == 0:
            words[-1] = 1
        if rng.random() < 0.3 and n_words:
            words[-1] = int(rng.integers(1, 1 << 8))
        ks = rng.integers(1, 65536, int(rng.integers(1, 120)))
        ref = rans.AnsDecoder(list(words))
        coder = constriction.stream.stack.AnsCoder(words)
        for k in ks:
            assert ref.decode_bit(int(k)) == int(coder.decode(BERNOULLI, np.array([k / 65536]))[0])
            assert ref.is_empty() == coder.is_empty()
        weights = geometric_weights(3, 176)
        model = constriction.stream.model.Categorical(float_pmf(weights), perfect=False)
        for _ in range(10):
            assert ref.decode_categorical(weights) == int(coder.decode(model, 1)[0])
            assert ref.is_empty() == coder.is_empty()


def test_trailing_zero_word_refused():
    with pytest.raises(ValueError):
        constriction.stream.stack.AnsCoder(np.array([5, 0], np.uint32))
    with pytest.raises(rans.StreamError):
        rans.AnsDecoder([5, 0])


def test_matches_inrcodec_stream():
    # the codec's bit coder (inrcodec.entropy) writes the streams rans.py decodes, and
    # reads the streams rans.py writes (format 2 codes binary decisions only)
    entropy = pytest.importorskip("inrcodec.entropy")
    rng = np.random.default_rng(9)
    for _ in range(30):
        _, bits, k = random_bits(rng, int(rng.integers(0, 300)))
        w = entropy.StreamWriter()
        w.bits(np.asarray(bits, np.int64), np.asarray(k, np.int64))
        data = w.finish()
        words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
        dec = rans.AnsDecoder(words)
        assert [dec.decode_bit(int(x)) for x in k] == [int(b) for b in bits]
        assert dec.is_empty()
        crafted = rans.encode_bits([int(b) for b in bits], [int(x) for x in k])
        assert crafted == data
        r = entropy.StreamReader(crafted)
        assert list(map(int, r.bits(np.asarray(k, np.int64)))) == [int(b) for b in bits]
        assert r.empty()


def test_float_rule_is_not_the_rational_rule():
    # For large M the binary64 rule and floor(C_i (2^24 - n) / S) + i differ: constriction
    # follows the float rule (here M = 2^20 - 1, R = 208, symbol 1372752).
    weights = geometric_weights((1 << 20) - 1, 208)
    n, s = len(weights), 1372752
    probs = float_pmf(weights)
    cdf = rans.categorical_cdf(list(probs))
    rational = sum(weights[:s]) * ((1 << 24) - n) // sum(weights) + s
    assert cdf[s] == rational + 1
    model = constriction.stream.model.Categorical(probs, perfect=False)
    for t in (s - 1, s, s + 1, 0, n - 1):
        assert single_symbol_state(t, model) == cdf[t]
