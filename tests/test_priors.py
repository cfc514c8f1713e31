"""Built-in priors are frozen: pinned by their full SHA-256, numbered once."""
import hashlib

import numpy as np
import pytest

from inrcodec import priors
from inrcodec.errors import PriorError
from inrcodec.model import NetConfig, seeded_init


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
