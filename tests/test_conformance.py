"""Released conformance vectors: valid files keep decoding to the same
samples; every broken file is refused."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

import inrcodec

CONF = Path(__file__).resolve().parents[1] / "formats" / "conformance"
ROWS = [line.split("\t") for line in (CONF / "MANIFEST.tsv").read_text().splitlines()[1:]]
BROKEN = sorted((CONF / "broken").glob("*.linr"))


def test_vectors_present():
    assert len(ROWS) >= 5 and len(BROKEN) >= 10
    assert sorted(r[0] for r in ROWS) == sorted(p.name for p in (CONF / "valid").glob("*.linr"))


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r[0])
def test_valid_vector(row):
    name, shape, dtype, digest = row
    img = inrcodec.decode((CONF / "valid" / name).read_bytes())
    assert "x".join(map(str, img.shape)) == shape and str(img.dtype) == dtype
    assert hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest() == digest


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_vector(path):
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode(path.read_bytes())
