"""The package's imports form layers with no cycle, and decoding imports neither torch nor
OpenCV (scripts/import_layers.py)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("import_layers", ROOT / "scripts" / "import_layers.py")
layers_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layers_script)
AT, LAZY = layers_script.AT_IMPORT, layers_script.LAZY


def test_no_import_cycles_in_the_package():
    graph = layers_script.import_graph()
    assert layers_script.cycles(graph) == [], "\n" + layers_script.report(graph)


def test_the_package_graph_is_read():
    graph = layers_script.import_graph()
    assert {"__init__", "codec", "decoder", "container", "bench.run"} <= set(graph)
    assert graph["container"]["errors"] == AT and graph["container"]["limits"] == AT
    assert graph["validate"]["model"] == AT
    assert graph["training"]["fitting"] == LAZY                  # imported inside train_prior
    assert graph["__init__"]["codec"] == LAZY                    # the PEP 562 map
    assert graph["__init__"]["errors"] == AT
    assert graph["bench.run"]["bench"] == AT                     # `from . import BenchError`
    every = {v for deps in graph.values() for v in deps}
    assert every <= set(graph)
    assert layers_script.layers(graph)[0] and "errors" in layers_script.layers(graph)[0]


def test_parser_on_a_made_up_package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import f\n_LAZY = {'g': 'b'}\n",
        "a.py": "import os\nfrom . import c\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .b import T\n"
                "def f():\n    from .b import g\n    import inrcodec.c\n",
        "b.py": "from .c import x\nclass K:\n    from . import a\n",
        "c.py": "x = 1\n",
        "sub/__init__.py": "",
        "sub/d.py": "from .. import c\nfrom ..a import f\nfrom . import e\nfrom .e import y\n",
        "sub/e.py": "from ... import nothing_of_ours\ny = 2\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = layers_script.import_graph(pkg)
    assert graph == {
        "__init__": {"a": AT, "b": LAZY},
        "a": {"b": LAZY, "c": AT},                      # TYPE_CHECKING skipped; inrcodec.c resolves here
        "b": {"a": AT, "c": AT},                        # a class body runs at import
        "c": {},
        "sub": {},
        "sub.d": {"a": AT, "c": AT, "sub.e": AT},
        "sub.e": {},
    }
    assert layers_script.cycles(graph) == [["a", "b"]]
    assert layers_script.layers(graph) == [["c", "sub", "sub.e"], ["a", "b"], ["__init__", "sub.d"]]
    assert "cycle: a, b  (a -> b*; b -> a)" in layers_script.report(graph)


@pytest.mark.parametrize("graph, found", [
    ({"a": {}, "b": {"a": AT}}, []),
    ({"a": {"a": LAZY}}, [["a"]]),
    ({"a": {"b": AT}, "b": {"c": LAZY}, "c": {"a": AT}, "d": {"a": AT}}, [["a", "b", "c"]]),
])
def test_cycles(graph, found):
    assert layers_script.cycles(graph) == found


def test_decoding_imports_neither_torch_nor_cv2():
    res = layers_script.decode_path_imports()
    assert res["exact"]
    assert res["forbidden"] == [], f"inrcodec.decode imported {res['forbidden']}"
    assert "inrcodec.decoder" in res["inrcodec"] and "numpy" in res["packages"]


def test_the_readme_lists_the_layers_as_they_are():
    """The README's one-line-a-layer listing ("layer n: a b c", or "layer n-m: a, b, c"
    for layers of one module each) is what the script finds today."""
    import re
    text = (ROOT / "README.md").read_text()
    listed = []
    for first, last, mods in re.findall(r"^layer (\d+)(?:-(\d+))?: (.+)$", text, re.M):
        if last:
            names = [m.strip() for m in mods.split(",")]
            assert len(names) == int(last) - int(first) + 1
            listed += [[m] for m in names]
        else:
            assert int(first) == len(listed)
            listed.append(mods.split())
    assert listed == layers_script.layers(layers_script.import_graph())
