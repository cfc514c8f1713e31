"""The README's Python snippet runs as a script (worker processes included)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_snippet_runs_as_a_script(tmp_path):
    text = (ROOT / "README.md").read_text()
    start = text.index("```python\nimport numpy as np\nimport inrcodec")
    code = text[start + len("```python\n"): text.index("```", start + 10)]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "y.linr").read_bytes()[:4] == (tmp_path / "x.linr").read_bytes()[:4]
