"""Conformance vectors: inrcodec and the independent reference decoder
(formats/reference/linr_ref.py, written from formats/linr.md) decode every valid vector to its
manifest hash and refuse every broken one (formats/conformance/README.md); the frozen vectors
of linr 0.2 (format 2, formats/conformance/v2/), linr 0.3 (format 3, v3/) and linr 0.4
(format 4, v4/) still decode in both."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

import inrcodec
from conftest import reference_decoder
from inrcodec import decoder
from inrcodec.backend import COMPILED
from inrcodec.limits import DEFAULT_MAX_PIXELS
from inrcodec.oracle import ORACLE
from inrcodec.priors import load

CONF = Path(__file__).resolve().parents[1] / "formats" / "conformance"
PRIOR = CONF / "priors" / "conformance-test.linrp"
ROWS = [line.split("\t") for line in (CONF / "MANIFEST.tsv").read_text().splitlines()[1:]]
FROZEN = {CONF / "v2": 2, CONF / "v3": 3, CONF / "v4": 4, CONF / "v5": 5, CONF / "v6": 6,
          CONF / "v7": 7, CONF / "v8": 8, CONF / "v9": 9, CONF / "v10": 10, CONF / "v11": 11, CONF / "v12": 12}                          # folder -> the format version of its vectors
FROZEN_ROWS = [(d, line.split("\t")) for d in FROZEN
               for line in (d / "MANIFEST.tsv").read_text().splitlines()[1:]]
BROKEN = sorted((CONF / "broken").glob("*.linr"))

ref = reference_decoder()
IDS = dict(ids=lambda x: x if isinstance(x, str) else (x[0] if isinstance(x, list) else x.name))


def test_vectors_present():
    assert len(ROWS) >= 40 and len(BROKEN) >= 90
    for d in FROZEN:
        rows = (d / "MANIFEST.tsv").read_text().splitlines()[1:]
        assert sorted(r.split("\t")[0] for r in rows) == sorted(p.name for p in (d / "valid").glob("*.linr"))
    assert sorted(r[0] for r in ROWS) == sorted(p.name for p in (CONF / "valid").glob("*.linr"))
    listed = [l.split("\t")[0] for l in (CONF / "BROKEN.tsv").read_text().splitlines()[1:]]
    assert sorted(listed) == [p.name for p in BROKEN]


@pytest.fixture(params=[COMPILED, ORACLE], ids=lambda b: b.name)
def backend(request):
    """Both decision backends: the compiled kernels and their numpy oracle."""
    return request.param


@pytest.mark.parametrize("where,row", [(CONF, r) for r in ROWS] + FROZEN_ROWS, **IDS)
def test_valid_vector(where, row, backend):
    name, digest, shape, dtype, _covers = row
    data = (where / "valid" / name).read_bytes()
    assert data[6] == FROZEN.get(where, inrcodec.container.VERSION)
    prior = load(where / "priors" / "conformance-test.linrp")
    img = decoder.decode(data, max_pixels=DEFAULT_MAX_PIXELS, prior=prior, backend=backend)
    assert "x".join(map(str, img.shape)) == shape and str(img.dtype) == dtype
    raw = np.ascontiguousarray(img).astype(img.dtype.newbyteorder("<")).tobytes()   # section 3's sample bytes
    assert hashlib.sha256(raw).hexdigest() == digest


@pytest.mark.parametrize("where,row", [(CONF, r) for r in ROWS] + FROZEN_ROWS, **IDS)
def test_valid_vector_reference(where, row):
    """The reference decoder gives the manifest's hash too (and reads the version byte)."""
    name, digest = row[:2]
    data = (where / "valid" / name).read_bytes()
    assert data[6] == FROZEN.get(where, inrcodec.container.VERSION)
    samples = ref.decode(data, [str(where / "priors"), str(ref.DEFAULT_PRIOR_DIR)])
    assert hashlib.sha256(samples).hexdigest() == digest


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_vector(path):
    """Refused by the reference decoder; and by inrcodec with the same error by both decision
    backends and by the API."""
    with pytest.raises(ref.Invalid):
        ref.decode(path.read_bytes(), [str(CONF / "priors"), str(ref.DEFAULT_PRIOR_DIR)])
    errors = []
    for backend in (COMPILED, ORACLE):
        with pytest.raises(inrcodec.LinrError) as info:
            decoder.decode(path.read_bytes(), max_pixels=DEFAULT_MAX_PIXELS, prior=load(PRIOR),
                           backend=backend)
        errors.append((type(info.value), str(info.value)))
    with pytest.raises(inrcodec.LinrError) as info:
        inrcodec.decode(path.read_bytes(), prior=PRIOR)
    errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1] == errors[2]


def test_version_1_message():
    with pytest.raises(inrcodec.FormatError, match=r"linr 0\.1\.0"):
        inrcodec.decode((CONF / "broken" / "version-1.linr").read_bytes())
