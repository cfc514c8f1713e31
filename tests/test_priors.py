"""Built-in priors are frozen: pinned by their full SHA-256, numbered once."""
import hashlib

import numpy as np
import pytest

from inrcodec import priors
from inrcodec.errors import LinrError, PriorError
from inrcodec.exact import WEIGHT_LIMIT
from inrcodec.model import NetConfig, seeded_init
from inrcodec.tables import WEIGHT_BITS


def test_every_builtin_is_pinned_and_installed():
    assert set(priors.BUILTIN) == set(priors.BUILTIN_IDS)
    for name, digest in priors.BUILTIN.items():
        path = priors.PRIOR_DIR / f"{name}{priors.EXTENSION}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
        p = priors.builtin(name)
        assert p.digest.hex() == digest and p.name == name


def test_builtin_numbers_are_new_and_unique():
    numbers = list(priors.BUILTIN_IDS.values())
    assert len(set(numbers)) == len(numbers)
    # 1..5 were linr 0.1's priors: never reused
    assert all(6 <= n <= 127 for n in numbers)
    for name, n in priors.BUILTIN_IDS.items():
        assert priors.builtin_tag(n) == bytes.fromhex(priors.BUILTIN[name])[:8]


def test_altered_builtin_is_refused(tmp_path, monkeypatch):
    if not priors.BUILTIN:
        pytest.skip("no built-in priors")
    name = next(iter(priors.BUILTIN))
    data = bytearray((priors.PRIOR_DIR / f"{name}{priors.EXTENSION}").read_bytes())
    data[-1] ^= 1
    (tmp_path / f"{name}{priors.EXTENSION}").write_bytes(bytes(data))
    monkeypatch.setattr(priors, "PRIOR_DIR", tmp_path)
    priors.builtin.cache_clear()
    try:
        with pytest.raises(PriorError, match="differs from the released one"):
            priors.builtin(name)
    finally:
        priors.builtin.cache_clear()


def test_prior_file_round_trip_and_corruption():
    cfg = NetConfig(channels=3, hidden=8, layers=2)
    data = priors.pack("x", cfg, seeded_init(cfg, 1), {"k": 1})
    p = priors.unpack(data)
    assert p.cfg == cfg and p.meta == {"k": 1} and p.digest == hashlib.sha256(data).digest()
    for bad in (data[:-1], data + b"\0", b"nope" + data[4:], data[:7] + b"\x09" + data[8:]):
        with pytest.raises(PriorError):
            priors.unpack(bad)
    assert np.array_equal(p.weights[0], seeded_init(cfg, 1)[0])


def test_unknown_number_names_the_problem():
    with pytest.raises(PriorError, match="built-in prior number 126"):
        priors.builtin_tag(126)


# -- the weight limit of the exact decoder ------------------------------------------------

def _at_the_limit(cfg: NetConfig, magnitude: int) -> list:
    """Weights of +-magnitude and 0 mixed (so the network is not constant), in every tensor."""
    rng = np.random.default_rng(5)
    return [rng.integers(-1, 2, s).astype(np.int64) * magnitude for s in cfg.shapes()]


def test_prior_at_the_weight_limit_packs_and_codes_exactly():
    import inrcodec
    cfg = NetConfig(channels=3, hidden=8, layers=2)
    weights = _at_the_limit(cfg, WEIGHT_LIMIT - 1)
    assert all(int(np.abs(w).max()) == WEIGHT_LIMIT - 1 for w in weights)
    data = priors.pack("edge", cfg, weights)
    p = priors.load(data)
    assert all(np.array_equal(a, b) for a, b in zip(p.weights, weights))
    y, x = np.mgrid[:12, :10]
    img = np.stack([(x * 20) % 256, (y * 13) % 256, (x * y) % 256], 2).astype(np.uint8)
    coded = inrcodec.encode(img, effort=0, prior=data)
    assert inrcodec.info(coded, prior=data)["prior"] == "edge"
    assert np.array_equal(inrcodec.decode(coded, prior=data), img)


@pytest.mark.parametrize("sign", [1, -1])
def test_pack_refuses_a_weight_at_the_limit(sign):
    cfg = NetConfig(channels=1, hidden=4, layers=1)
    weights = _at_the_limit(cfg, WEIGHT_LIMIT - 1)
    weights[2] = weights[2].copy()
    weights[2].flat[3] = sign * WEIGHT_LIMIT
    with pytest.raises(PriorError, match=r"tensor 2 holds -?1048576: weights must satisfy "
                                         r"\|w\| < 1048576") as exc:
        priors.pack("edge", cfg, weights)
    assert "\n" not in str(exc.value)


def test_training_keeps_weights_within_the_limit():
    from inrcodec.training import integer_weights, train_prior
    top = WEIGHT_LIMIT - 1
    real = top / (1 << WEIGHT_BITS)
    ints, clipped = integer_weights([np.array([0.5, -real, real, 64.0, -1e30, 3e38])])
    assert ints[0].tolist() == [1 << (WEIGHT_BITS - 1), -top, top, top, -top, top] and clipped == 3
    with pytest.raises(LinrError, match="diverged"):
        integer_weights([np.array([1.0, np.nan])])
    # a huge rate drives weights far past 64: the prior still packs, clipped at the limit
    img = (np.mgrid[:16, :16][1] * 16).astype(np.uint8)
    data = train_prior([img], hidden=4, layers=1, steps=3, lr=500.0, max_rows=256)
    p = priors.load(data)
    assert max(int(np.abs(w).max()) for w in p.weights) == top and p.meta["clipped_weights"] > 0


def test_train_prior_uses_one_torch_thread_unless_asked_and_restores_the_count(monkeypatch):
    """OpenMP threads beside busy processes made `linr prior train` 7x slower: training takes
    one torch thread unless the caller chose a budget, and leaves the process's count as it was."""
    torch = pytest.importorskip("torch")
    from inrcodec import fitting, threads, training
    seen = []
    real_train = fitting.train

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_train(*args, **kwargs)
    monkeypatch.setattr(fitting, "train", spy)
    monkeypatch.delenv("LINR_THREADS", raising=False)
    img = (np.mgrid[:16, :16][1] * 16).astype(np.uint8)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        training.train_prior([img], hidden=4, layers=1, steps=2, max_rows=256)
        assert seen == [1] and torch.get_num_threads() == 2
        training.train_prior([img], hidden=4, layers=1, steps=2, max_rows=256, threads=2)
        threads.configure(2)
        try:
            training.train_prior([img], hidden=4, layers=1, steps=2, max_rows=256)
        finally:
            threads.configure(None)
        assert seen == [1, 2, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_relu16_priors_must_be_on_the_grid():
    """A relu16 prior packs and parses with its weights on the 16-bit grid; off it, or at
    |w| >= 16, pack refuses it and a crafted file of one is refused on loading, in one line."""
    cfg = NetConfig(channels=1, hidden=8, layers=2, activation="relu16")
    weights = seeded_init(cfg, 3)                   # floored onto the grid
    data = priors.pack("grid", cfg, weights)
    assert priors.unpack(data).cfg.activation == "relu16"
    off = [w.copy() for w in weights]
    off[2].flat[5] += 1                             # a W tensor, one 2**-14 off the grid
    with pytest.raises(PriorError, match="grid"):
        priors.pack("grid", cfg, off)
    loose = [w.copy() for w in weights]
    loose[3].flat[0] += 1                           # biases have no grid
    priors.unpack(priors.pack("grid", cfg, loose))
    # the same file with one weight's low bit set: refused on loading
    raw = bytearray(data)
    first_weight = len(data) - 4 * sum(int(np.prod(s)) for s in cfg.shapes())
    raw[first_weight] |= 1
    with pytest.raises(PriorError, match="corrupt prior file: a relu16 network's weight is off its 16-bit grid"):
        priors.unpack(bytes(raw), "crafted")
