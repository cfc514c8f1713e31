"""The import layers of inrcodec, and its import cycles.

    python scripts/import_layers.py                # layers and cycles; exit 1 on a cycle
    python scripts/import_layers.py --decode-path  # does inrcodec.decode import torch or cv2?

Every module of the package (bench/ included) is parsed with `ast` (nothing is
imported) for the package's own imports: at module level, or inside a function
(lazy, marked *), and the modules named by a lazy API's `_LAZY` map (PEP 562,
as in inrcodec/__init__.py; lazy too). Both kinds count: a lazy import is still a dependency, and a
cycle through one is a tangle even if it never fails at import time. Layer 0
imports nothing of the package; a module of layer n imports only modules of
lower layers. Modules on a cycle share a layer and are listed as a cycle.
Other imports made through importlib with computed names are not seen.
"""
from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "inrcodec"
TOP = "__init__"          # the name shown for inrcodec/__init__.py
AT_IMPORT, LAZY = "module", "lazy"
# what the decode path must never load
FORBIDDEN_ON_DECODE = ("torch", "cv2")


def module_names(package_dir: Path) -> dict:
    """Short dotted module name ('codec', 'bench.run', 'bench' for bench/__init__.py) -> file."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts) or TOP] = path
    return out


def _parts(name: str) -> list:
    return [] if name == TOP else name.split(".")


def _name(parts: list) -> str:
    return ".".join(parts) or TOP


class _Imports(ast.NodeVisitor):
    """The package's imports in one module's syntax tree, each marked module-level or lazy."""

    def __init__(self, name: str, is_package: bool, known: set):
        self.known = known
        self.package = _parts(name) if is_package else _parts(name)[:-1]
        self.depth = 0                     # > 0 inside a function
        self.found = {}                    # imported module -> AT_IMPORT or LAZY

    def _add(self, parts: list) -> None:
        name = _name(parts)
        if name in self.known:
            kind = LAZY if self.depth else AT_IMPORT
            if self.found.get(name) != AT_IMPORT:
                self.found[name] = kind

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_If(self, node: ast.If) -> None:
        # `if TYPE_CHECKING:` imports are for annotations only: never executed
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        # the PEP 562 map of a lazy API (`_LAZY = {"encode": "codec", ...}` in __init__):
        # each module it names is imported on first use
        if not self.depth and any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in node.targets) \
                and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    self.depth += 1
                    self._add(self.package + value.value.split("."))
                    self.depth -= 1
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == PACKAGE:
                self._add(parts[1:])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            if node.level - 1 > len(self.package):
                return                             # beyond the package: not ours
            base = self.package[:len(self.package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.split(".")[0] == PACKAGE:
            target = node.module.split(".")[1:]
        else:
            return
        names_of_modules = [a.name for a in node.names if _name(target + [a.name]) in self.known]
        for name in names_of_modules:              # `from . import limits`: the module limits
            self._add(target + [name])
        if len(names_of_modules) < len(node.names):
            self._add(target)                      # a name defined in `target` itself


def import_graph(package_dir: Path = ROOT / PACKAGE) -> dict:
    """module -> {module it imports: AT_IMPORT or LAZY}, for every module of the package."""
    files = module_names(package_dir)
    known = set(files)
    graph = {}
    for name, path in files.items():
        visitor = _Imports(name, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph[name] = dict(sorted(visitor.found.items()))
    return graph


def strongly_connected(graph: dict) -> list:
    """Tarjan's strongly connected components, each a sorted list of modules."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cycles(graph: dict) -> list:
    """The components that are cycles: more than one module, or a module importing itself."""
    return [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph.get(c[0], ())]


def layers(graph: dict) -> list:
    """Modules by layer: layer 0 imports nothing of the package, layer n only lower layers
    (a cycle's modules share one layer, one above everything the cycle imports)."""
    comp_of = {}
    comps = strongly_connected(graph)      # Tarjan emits a component after all it imports
    level = {}
    for i, comp in enumerate(comps):
        for v in comp:
            comp_of[v] = i
        below = [level[comp_of[w]] for v in comp for w in graph[v] if comp_of.get(w, i) != i]
        level[i] = 1 + max(below) if below else 0
    out = [[] for _ in range(1 + max(level.values(), default=-1))]
    for i, comp in enumerate(comps):
        out[level[i]].extend(comp)
    return [sorted(layer) for layer in out]


def report(graph: dict) -> str:
    lines = []
    in_cycle = {v for c in cycles(graph) for v in c}
    for n, layer in enumerate(layers(graph)):
        lines.append(f"layer {n}:")
        for v in layer:
            deps = ", ".join(w + ("*" if kind == LAZY else "") for w, kind in graph[v].items())
            lines.append(f"  {v}{' (cycle)' if v in in_cycle else ''}: {deps or '-'}")
    found = cycles(graph)
    lines.append("* lazy: imported inside a function")
    if not found:
        lines.append("cycles: none")
    for comp in found:
        members = set(comp)
        edges = [f"{v} -> {w}{'*' if graph[v][w] == LAZY else ''}"
                 for v in comp for w in graph[v] if w in members]
        lines.append(f"cycle: {', '.join(comp)}  ({'; '.join(edges)})")
    return "\n".join(lines)


# -- what the decode path imports ---------------------------------------------------

_DECODE = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
import inrcodec
img = inrcodec.decode(open(sys.argv[2], "rb").read())
print(json.dumps({"sha256": hashlib.sha256(img.tobytes()).hexdigest(), "modules": sorted(sys.modules)}))
"""


def decode_path_imports() -> dict:
    """Decode a small file made here by the encoder in a fresh process; which top-level
    packages it loaded, which of FORBIDDEN_ON_DECODE among them, and whether the image came
    back."""
    import hashlib

    import numpy as np

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))          # run as a script from anywhere
    import inrcodec
    y, x = np.mgrid[:24, :20]
    img = np.stack([(x * 12) % 256, (y * 10) % 256, ((x + y) * 6) % 256], 2).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "small.linr"
        path.write_bytes(inrcodec.encode(img, effort=0))
        run = subprocess.run([sys.executable, "-c", _DECODE, str(ROOT), str(path)],
                             capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"decoding in a fresh process failed: {run.stderr.strip()[-500:]}")
    got = json.loads(run.stdout.strip().splitlines()[-1])
    tops = sorted({m.split(".")[0] for m in got["modules"]})
    return {"exact": got["sha256"] == hashlib.sha256(img.tobytes()).hexdigest(),
            "forbidden": [m for m in FORBIDDEN_ON_DECODE if m in tops],
            "inrcodec": [m for m in got["modules"] if m.startswith(PACKAGE + ".")],
            "packages": tops}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode-path", action="store_true",
                        help="decode a small file in a fresh process; fail if it imports torch or cv2")
    args = parser.parse_args(argv)
    if args.decode_path:
        res = decode_path_imports()
        print(f"decoded exactly: {res['exact']}")
        print(f"inrcodec modules loaded: {', '.join(m[len(PACKAGE) + 1:] for m in res['inrcodec'])}")
        heavy = [m for m in ("numpy", "numba", "constriction", "threadpoolctl", "PIL", "click")
                 if m in res["packages"]]
        print(f"other packages of note: {', '.join(heavy) or 'none'}")
        print(f"torch or cv2 imported: {', '.join(res['forbidden']) or 'no'}")
        return 1 if res["forbidden"] or not res["exact"] else 0
    graph = import_graph()
    print(report(graph))
    return 1 if cycles(graph) else 0


if __name__ == "__main__":
    sys.exit(main())
