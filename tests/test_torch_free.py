"""The decode path never imports torch: decode, info and `linr decode` work
in a process where importing torch fails. Nor does linr import constriction anywhere
(the tests' reference ANS coder, not a dependency): these processes refuse it too."""
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inrcodec

ROOT = Path(__file__).resolve().parents[1]

# A meta-path finder that refuses torch and records every attempt.
_BLOCK = """
import sys
ATTEMPTS = []
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "constriction"):
            ATTEMPTS.append(name)
            raise ImportError(f"{name.split('.')[0]} is blocked in this test ({name})")
        return None
sys.meta_path.insert(0, _NoTorch())
sys.path.insert(0, %r)
""" % str(ROOT)

_API = _BLOCK + """
import hashlib, json
import inrcodec
out = {}
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    kw = {}
    if path.endswith("prior.linr"):
        kw = {"prior": path[:-len(".linr")] + ".linrp"}
    img = inrcodec.decode(data, **kw)
    meta = inrcodec.info(data, **kw)
    out[path] = [hashlib.sha256(img.tobytes()).hexdigest(), list(img.shape), str(img.dtype), meta["width"]]
print(json.dumps({"files": out, "torch_loaded": "torch" in sys.modules, "attempts": ATTEMPTS}))
"""

_CLI = _BLOCK + """
import json
from inrcodec.cli import main
codes = [main(["decode", sys.argv[1], sys.argv[2], "--force", "-q"]),
         main(["info", sys.argv[1]])]
print(json.dumps({"codes": codes, "torch_loaded": "torch" in sys.modules, "attempts": ATTEMPTS}))
"""


def _run(script, *args, env=None):
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files made in this (torch-capable) process: plain, fitted delta, custom prior."""
    from inrcodec.training import train_prior
    d = tmp_path_factory.mktemp("torchfree")
    y, x = np.mgrid[:20, :22]
    gray = ((x * 9 + y * 4) % 256).astype(np.uint8)
    rgb = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], axis=2).astype(np.uint8)
    deep = ((x * 1000 + y * 77) % 4096).astype(np.uint16)[:, :, None]
    made = {
        "gray.linr": (gray, inrcodec.encode(gray, effort=0, prior="none")),
        "rgb.linr": (rgb, inrcodec.encode(rgb, effort=1, prior="none", filter="never")),  # with a W chunk
        "deep.linr": (deep, inrcodec.encode(deep, effort=0, prior="none")),
    }
    pb = train_prior([gray], steps=5, hidden=8)
    (d / "prior.linrp").write_bytes(pb)
    made["prior.linr"] = (gray, inrcodec.encode(gray, effort=0, prior=pb))
    for name, (_img, data) in made.items():
        (d / name).write_bytes(data)
    assert inrcodec.info(made["rgb.linr"][1])["chunks"].get("W", 0) > 0
    return d, {name: img for name, (img, _data) in made.items()}


def test_decode_and_info_without_torch(files):
    """Through the compiled kernels: numba must not pull torch in either."""
    import hashlib
    d, images = files
    paths = [d / name for name in images]
    res = _run(_API, *paths)
    assert res["torch_loaded"] is False
    assert res["attempts"] == [], f"the decode path tried to import {res['attempts']}"
    for path in paths:
        img = images[path.name]
        assert res["files"][str(path)] == [hashlib.sha256(img.tobytes()).hexdigest(), list(img.shape),
                                          str(img.dtype), img.shape[1]]


def test_cli_decode_without_torch(files, tmp_path):
    d, images = files
    for name in ("gray.linr", "rgb.linr"):
        out = tmp_path / (name + ".png")
        res = _run(_CLI, d / name, out)
        assert res["codes"] == [0, 0]
        assert res["torch_loaded"] is False and res["attempts"] == []
        assert np.array_equal(inrcodec.read_image(out), images[name])


def test_linr_module_without_torch_package(files, tmp_path):
    """`python -m inrcodec.cli decode` with a `torch` on the path that fails to import."""
    d, images = files
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    marker = tmp_path / "torch-imported"
    (fake / "torch" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nraise ImportError('torch is blocked in this test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), str(ROOT)]))
    out = tmp_path / "g.png"
    res = subprocess.run([sys.executable, "-m", "inrcodec.cli", "decode", str(d / "gray.linr"), str(out),
                          "--force", "-q"], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert not marker.exists(), "linr decode imported torch"
    assert np.array_equal(inrcodec.read_image(out), images["gray.linr"])


_IMPORT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import inrcodec
bare = sorted(sys.modules)
names = {name: callable(getattr(inrcodec, name)) or isinstance(getattr(inrcodec, name), (int, str))
         for name in inrcodec.__all__}
from inrcodec import decode, encode
print(json.dumps({"bare": bare, "names": names, "dir": dir(inrcodec),
                  "same": encode is inrcodec.encode and decode is inrcodec.decode}))
"""


def test_import_is_light_and_the_api_lazy():
    """`import inrcodec` loads no numpy, OpenCV, torch, numba or constriction; every public
    name still resolves, and `from inrcodec import encode` works."""
    res = _run(_IMPORT, ROOT)
    heavy = {"numpy", "cv2", "torch", "numba", "constriction", "PIL", "click", "scipy"}
    loaded = {m.split(".")[0] for m in res["bare"]}
    assert not loaded & heavy, f"import inrcodec loaded {sorted(loaded & heavy)}"
    ours = sorted(m for m in res["bare"] if m.startswith("inrcodec."))
    assert ours == ["inrcodec.errors", "inrcodec.limits"]
    assert all(res["names"].values()) and set(res["names"]) == set(inrcodec.__all__)
    assert set(inrcodec.__all__) <= set(res["dir"]) and res["same"]
    project = re.search(r'^version = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert inrcodec.MAX_EFFORT == 9 and inrcodec.__version__ == project


_ENCODE = _BLOCK + """
import json, warnings
import numpy as np
import inrcodec
y, x = np.mgrid[:60, :70]
img = np.stack([(x * 3 + y) % 256, (y * 5) % 256, (x * y) % 256], axis=2).astype(np.uint8)
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    noisy = (img // 2 + np.random.default_rng(5).integers(0, 16, img.shape)).astype(np.uint8)
    from inrcodec import cpu_fit
    steps, cpu_train = [], cpu_fit.train
    cpu_fit.train = lambda net, data, n, **kw: steps.append(n) or cpu_train(net, data, n, **kw)
    for effort in (0, 3):     # effort 3 fits a seeded network whatever the image's size
        data = inrcodec.encode(noisy, effort=effort, prior="none", filter="never", palette="never")
        assert np.array_equal(inrcodec.decode(data), noisy)
        out[effort] = data.hex()
    fits = [str(w.message) for w in caught]
    data = inrcodec.encode(img, effort=1, mode="ber0")
    assert np.array_equal(inrcodec.decode(data), img)
try:
    inrcodec.train_prior([img], steps=2)
    train = "trained"
except inrcodec.LinrError as exc:
    train = str(exc)
print(json.dumps({"files": out, "warnings": [str(w.message) for w in caught], "fits": fits, "steps": steps,
                  "train": train,
                  "torch_loaded": "torch" in sys.modules}))
"""


def test_encode_without_torch():
    """Without torch, effort 0 encodes as usual and the fitting efforts fit their delta on the
    CPU (cpu_fit.py) to the same bytes as with torch installed; only what needs torch (ber0
    here) warns once and writes an unfitted file; prior training says what to install."""
    res = _run(_ENCODE)
    assert res["torch_loaded"] is False
    assert res["fits"] == []
    assert any("linr[fit]" in w for w in res["warnings"])
    assert "linr[fit]" in res["train"]
    y, x = np.mgrid[:60, :70]
    img = np.stack([(x * 3 + y) % 256, (y * 5) % 256, (x * y) % 256], axis=2).astype(np.uint8)
    noisy = (img // 2 + np.random.default_rng(5).integers(0, 16, img.shape)).astype(np.uint8)
    options = dict(prior="none", filter="never", palette="never")
    assert bytes.fromhex(res["files"]["0"]) == inrcodec.encode(noisy, effort=0, **options)
    assert bytes.fromhex(res["files"]["3"]) == inrcodec.encode(noisy, effort=3, **options)
    assert sum(res["steps"]) > 0                 # the CPU fit ran (whether its delta paid or not)
