"""The independent reference decoder formats/reference/linr_ref.py (written from
formats/linr.md) agrees with the manifest on every valid vector and refuses every broken one."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import reference_decoder

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "formats" / "reference" / "linr_ref.py"
CONF = ROOT / "formats" / "conformance"
ROWS = [line.split("\t") for line in (CONF / "MANIFEST.tsv").read_text().splitlines()[1:]]
# the frozen vectors of linr 0.2, 0.3 and 0.4 (formats 2, 3 and 4)
FROZEN_ROWS = [(d, line.split("\t")) for d in (CONF / "v2", CONF / "v3", CONF / "v4")
               for line in (d / "MANIFEST.tsv").read_text().splitlines()[1:]]
BROKEN = sorted((CONF / "broken").glob("*.linr"))

ref = reference_decoder()
DIRS = [str(CONF / "priors"), str(ref.DEFAULT_PRIOR_DIR)]


def test_does_not_import_inrcodec():
    import re
    src = REF.read_text()
    assert not re.search(r"^\s*(import|from)\s+(inrcodec|constriction)", src, re.M)
    code = ("import sys, runpy; sys.argv = ['linr_ref', sys.argv[1], '--prior-dir', sys.argv[2]]\n"
            "try:\n    runpy.run_path(sys.argv[0] if False else %r, run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert not any(m.split('.')[0] in ('inrcodec', 'constriction') for m in sys.modules), "
            "sorted(m for m in sys.modules if m.startswith(('inrcodec', 'constriction')))\n" % str(REF))
    out = subprocess.run([sys.executable, "-c", code, str(CONF / "valid" / ROWS[0][0]),
                          str(CONF / "priors")], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ROWS[0][1]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r[0])
def test_valid_vector(row):
    import hashlib
    samples = ref.decode((CONF / "valid" / row[0]).read_bytes(), DIRS)
    assert hashlib.sha256(samples).hexdigest() == row[1]


@pytest.mark.parametrize("where,row", FROZEN_ROWS, ids=lambda x: x if isinstance(x, str) else
                         (x[0] if isinstance(x, list) else x.name))
def test_frozen_vector(where, row):
    import hashlib
    samples = ref.decode((where / "valid" / row[0]).read_bytes(),
                         [str(where / "priors"), str(ref.DEFAULT_PRIOR_DIR)])
    assert hashlib.sha256(samples).hexdigest() == row[1]


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_vector(path):
    with pytest.raises(ref.Invalid):
        ref.decode(path.read_bytes(), DIRS)


def test_command_line(tmp_path):
    ok = subprocess.run([sys.executable, str(REF), str(CONF / "valid" / "external-prior.linr"),
                         "--prior-dir", str(CONF / "priors")], capture_output=True, text=True)
    row = next(r for r in ROWS if r[0] == "external-prior.linr")
    assert ok.returncode == 0 and ok.stdout.strip() == row[1]
    bad = subprocess.run([sys.executable, str(REF), str(CONF / "broken" / "version-1.linr")],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    line = bad.stdout.strip()
    assert line.startswith("linr_ref: error: ") and "\n" not in line and "linr 0.1.0" in line
