"""A corrupt prior file is a PriorError in one plain line: never struct's or IndexError's text."""
import json
import struct

import numpy as np
import pytest

from inrcodec import priors
from inrcodec.cli import main
from inrcodec.errors import PriorError
from inrcodec.model import NetConfig, seeded_init

LEAKS = ("unpack", "struct", "buffer", "index out of range", "tuple", "Expecting", "codec can't",
         "NetConfig", "invalid start byte", "char ", "Traceback")


def _small():
    cfg = NetConfig(channels=3, hidden=4, layers=1)
    return priors.pack("small", cfg, seeded_init(cfg, 1), {"note": "x"})


def _check(data: bytes):
    """unpack either parses or raises a plain one-line PriorError."""
    try:
        p = priors.unpack(data, "p.linrp")
    except PriorError as exc:
        msg = str(exc)
        assert msg.startswith("p.linrp: corrupt prior file: "), msg
        assert "\n" not in msg and not any(leak in msg for leak in LEAKS), msg
        return None
    assert p.cfg.parameters() * 4 < len(data)
    return p


def test_every_truncation():
    data = _small()
    for n in range(len(data)):
        assert _check(data[:n]) is None, n


def test_builtin_truncations():
    data = (priors.PRIOR_DIR / f"{next(iter(priors.BUILTIN))}{priors.EXTENSION}").read_bytes()
    header = 64
    for n in list(range(header)) + list(range(header, len(data), 997)):
        assert _check(data[:n]) is None, n


def test_mutations_and_insertions():
    data = _small()
    rng = np.random.default_rng(21)
    head = 40                                  # signature, name, metadata, architecture
    for _ in range(3000):
        b = bytearray(data)
        kind = rng.integers(0, 4)
        if kind == 0:                          # flip bytes in the header
            for i in rng.integers(0, head, rng.integers(1, 4)):
                b[i] = int(rng.integers(0, 256))
        elif kind == 1:                        # anywhere
            b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 2:                        # insert
            i = int(rng.integers(0, len(b)))
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 8)), dtype=np.uint8))
        else:                                  # delete
            i = int(rng.integers(0, len(b)))
            del b[i:i + int(rng.integers(1, 8))]
        _check(bytes(b))


@pytest.mark.parametrize("bad, words", [
    (lambda d: d[:9], "truncated"),
    (lambda d: d[:8] + b"\x00" + d[9:], "name is empty"),
    (lambda d: d + b"\x00", r"1 trailing byte\(s\) after the weights"),
    (lambda d: d[:7] + b"\x09" + d[8:], "unsupported prior version 9"),
    (lambda d: b"nope" + d[4:], "bad signature"),
])
def test_plain_words(bad, words):
    with pytest.raises(PriorError, match=words):
        priors.unpack(bad(_small()), "p.linrp")


def test_bad_metadata_and_architecture():
    name = b"x"
    head = priors.MAGIC + bytes([priors.VERSION, len(name)]) + name
    for meta, arch, words in [(b"{", bytes([3, 1, 1]) + struct.pack("<H", 4), "metadata is not JSON"),
                              (b"[1]", bytes([3, 1, 1]) + struct.pack("<H", 4), "not a JSON object"),
                              (b"\xff", bytes([3, 1, 1]) + struct.pack("<H", 4), "metadata is not JSON"),
                              (b"{}", bytes([3, 7, 1]) + struct.pack("<H", 4), "unknown activation"),
                              (b"{}", bytes([9, 1, 1]) + struct.pack("<H", 4), "invalid architecture"),
                              (b"{}", bytes([3, 1, 0]) + struct.pack("<H", 4), "invalid architecture")]:
        data = head + struct.pack("<H", len(meta)) + meta + arch
        with pytest.raises(PriorError, match=words):
            priors.unpack(data, "p.linrp")
    assert json.loads(b"{}") == {}


def test_command_line_says_it_in_one_line(tmp_path, capsys):
    import cv2
    src, bad = tmp_path / "a.png", tmp_path / "bad.linrp"
    cv2.imwrite(str(src), np.zeros((8, 8, 3), np.uint8))
    bad.write_bytes(_small()[:20])
    assert main(["encode", str(src), str(tmp_path / "a.linr"), "--prior", str(bad), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "corrupt prior file: file is truncated" in err[0]
    assert not any(leak in err[0] for leak in LEAKS)
