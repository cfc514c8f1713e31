"""The runner: encode, decode, verify and time every image with every codec.

For each (image, codec) pair one record is kept:

    {"image", "sha256", "codec", "status", "pixels", "bytes", "bpp", "encode_ms", "decode_ms", "reason"}

``status`` is "ok" (round trip verified bit-exact), "n/a" (the codec cannot
take this image: bpp is null, never zero) or "mismatch" (decoded pixels differ,
or the encoder crashed on an image it takes: the run fails).  Records are appended to ``<name>.jsonl`` as they are made, so
an interrupted run can be resumed with ``--resume``.  At the end
``<name>.json`` (everything), ``<name>.md`` (the table) and ``<name>.png`` (the
plots) are written to the output folder (the current directory unless told).

Speed and memory: each record has the image's encode and decode wall times
(``encode_ms``, ``decode_ms``); the summary has per-codec means and totals
(``total_encode_s``, ``total_decode_s``); ``resources`` has the process's peak
resident set size (``resource.getrusage``, children excluded) and CPU times.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import BenchError
from .codecs import Codec

try:  # Unix only
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None


class MismatchError(BenchError):
    """A codec did not give back the exact input pixels."""


# ----------------------------------------------------------------- helpers


def image_sha256(img: np.ndarray) -> str:
    """SHA-256 of the pixel bytes, with dtype and shape so equal bytes of another shape differ."""
    h = hashlib.sha256(f"{img.dtype.str}{img.shape}".encode())
    h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()


def squeeze_channel(a: np.ndarray) -> np.ndarray:
    """HxWx1 -> HxW (the only shape normalisation allowed before comparing)."""
    return a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a


def same_pixels(original: np.ndarray, decoded: np.ndarray) -> bool:
    a, b = squeeze_channel(np.asarray(original)), squeeze_channel(np.asarray(decoded))
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def describe_mismatch(original: np.ndarray, decoded) -> str:
    decoded = np.asarray(decoded)
    a, b = squeeze_channel(original), squeeze_channel(decoded)
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"decoded {b.shape} {b.dtype}, expected {a.shape} {a.dtype}"
    return f"{int(np.count_nonzero(a != b))} of {a.size} samples differ"


def cache_key(codec: Codec, name: str, sha: str) -> str:
    # The codec version is part of the key so a library upgrade is never served stale numbers.
    opts = json.dumps(codec.options, sort_keys=True, default=str)
    return f"{codec.name}|{codec.version}|{opts}|{name}|{sha}"


def measure(codec: Codec, name: str, img: np.ndarray, sha: str) -> dict:
    """Encode + decode + verify one image with one codec."""
    h, w = img.shape[:2]
    rec = {"image": name, "sha256": sha, "codec": codec.name, "status": "n/a", "pixels": h * w,
           "bytes": None, "bpp": None, "encode_ms": None, "decode_ms": None, "reason": None}
    rec["reason"] = codec.reason(img)
    if rec["reason"]:
        return rec
    t0 = time.perf_counter()
    try:
        data = codec.encode(img)
    except Exception as e:  # the library refused this image: not applicable, not zero
        rec["reason"] = f"encode raised {type(e).__name__}: {e}"
        if not isinstance(e, codec.refusals):     # ... or crashed on one it takes: a failure
            rec["status"] = "mismatch"
        return rec
    t1 = time.perf_counter()
    error = None
    try:
        decoded = codec.decode(data, img.shape)
    except Exception as e:  # produced bytes that cannot be decoded: that is a failure
        decoded, error = None, f"decode raised {type(e).__name__}: {e}"
    t2 = time.perf_counter()

    rec.update(bytes=len(data), bpp=8 * len(data) / (h * w),
               encode_ms=round(1000 * (t1 - t0), 4), decode_ms=round(1000 * (t2 - t1), 4))
    if decoded is not None and same_pixels(img, decoded):
        rec["status"] = "ok"
    else:
        rec["status"] = "mismatch"
        rec["reason"] = error if decoded is None else describe_mismatch(img, decoded)
    return rec


def summarise(records: list[dict], codecs: list[Codec], n_images: int) -> dict:
    """Per-codec means over the images the codec was measured on."""
    summary = {}
    for codec in codecs:
        mine = [r for r in records if r["codec"] == codec.name]
        ok = [r for r in mine if r["status"] == "ok"]
        mean = lambda key: float(np.mean([r[key] for r in ok])) if ok else None  # noqa: E731
        summary[codec.name] = {
            "version": codec.version,
            "options": codec.options,
            "images": n_images,
            "measured": len(ok),
            "not_applicable": sum(r["status"] == "n/a" for r in mine),
            "mismatches": sum(r["status"] == "mismatch" for r in mine),
            "mean_bpp": mean("bpp"),
            # all bits / all pixels of the measured images (weights big images more)
            "total_bpp": 8 * sum(r["bytes"] for r in ok) / sum(r["pixels"] for r in ok) if ok else None,
            "mean_encode_ms": mean("encode_ms"),
            "mean_decode_ms": mean("decode_ms"),
            "total_encode_s": round(sum(r["encode_ms"] for r in ok) / 1000, 6) if ok else None,
            "total_decode_s": round(sum(r["decode_ms"] for r in ok) / 1000, 6) if ok else None,
            "reasons": sorted({r["reason"] for r in mine if r["status"] == "n/a"}),
        }
    return summary


def markdown_table(result: dict) -> str:
    """Codec rows x (images measured, mean bpp, mean encode ms, mean decode ms)."""
    fmt = lambda v, spec: "n/a" if v is None else format(v, spec)  # noqa: E731
    lines = [
        f"### {result['name']}: {result['dataset']['name']}, {result['dataset']['images']} images",
        "",
        "| codec | images measured | mean bpp | mean encode ms | mean decode ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in result["summary"].items():
        measured = f"{s['measured']}/{s['images']}"
        if s["mismatches"]:
            measured += f" ({s['mismatches']} MISMATCH)"
        lines.append(
            f"| {name} | {measured} | {fmt(s['mean_bpp'], '.3f')} | "
            f"{fmt(s['mean_encode_ms'], '.2f')} | {fmt(s['mean_decode_ms'], '.2f')} |"
        )
    peak = (result.get("resources") or {}).get("peak_rss_bytes")
    if peak:
        lines += ["", f"Peak resident memory of the process: {peak / 2**20:.0f} MiB."]
    notes = [f"- {n}: not applicable to {s['not_applicable']} images ({'; '.join(s['reasons'])})"
             for n, s in result["summary"].items() if s["not_applicable"]]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def load_results(paths) -> list[dict]:
    """The result dicts of `<name>.json` files, as run_benchmark wrote them."""
    return [json.loads(Path(p).read_text()) for p in paths]


def runs_table(results: list[dict], total_bytes: bool = False) -> str:
    """One row a run, one column a codec (the union of the runs' codecs, in ALL_CODECS' order):
    its mean bpp (total_bytes: the bytes of every image it measured), the smallest of the row
    among the codecs that measured every image in bold; then linr against JPEG-XL e9 in the same run and linr's mean seconds an image to encode
    and decode, where the run has them. A codec measured on fewer images than its run has is
    marked with how many (its figure covers those only); one that failed a round trip, MISMATCH."""
    from .codecs import ALL_CODECS
    seen = dict.fromkeys(c for r in results for c in r["summary"])
    codecs = sorted(seen, key=lambda c: ALL_CODECS.index(c) if c in ALL_CODECS else len(ALL_CODECS))

    def figure(result, codec):
        s = result["summary"].get(codec)
        if s is None or not s["measured"]:
            return None
        if total_bytes:
            return sum(r["bytes"] for r in result["records"] if r["codec"] == codec and r["status"] == "ok")
        return s["mean_bpp"]

    unit = "total bytes" if total_bytes else "mean bpp"
    head = ["run (images)", *codecs]
    if {"linr", "jpegxl-e9"} <= set(codecs):
        head.append("linr / JPEG-XL e9")
    if "linr" in codecs:
        head.append("linr encode / decode, s an image")
    lines = [f"| {' | '.join(head)} |", "|---|" + "---:|" * (len(head) - 1),
             ]
    for result in results:
        values = {c: figure(result, c) for c in codecs}
        # the smallest among codecs measured on every image of the run: a figure over fewer
        # images (a codec that cannot take some) is not comparable
        whole = [v for c, v in values.items() if v is not None and not result["summary"][c]["mismatches"]
                 and result["summary"][c]["measured"] == result["summary"][c]["images"]]
        best = min(whole, default=None)
        cells = [f"{result['name']} ({result['dataset']['images']})"]
        for c in codecs:
            v, s = values[c], result["summary"].get(c)
            if v is None:
                cells.append("n/a" if s else "")
                continue
            text = f"{v:,}" if total_bytes else f"{v:.3f}"
            if v == best:
                text = f"**{text}**"
            if s["measured"] < s["images"]:
                text += f" ({s['measured']} of {s['images']})"
            if s["mismatches"]:
                text += " MISMATCH"
            cells.append(text)
        if "linr / JPEG-XL e9" in head:
            a, b = values.get("linr"), values.get("jpegxl-e9")
            same = a is not None and b is not None and \
                result["summary"]["linr"]["measured"] == result["summary"]["jpegxl-e9"]["measured"]
            cells.append(f"{a / b:.3f}x" if same else "")
        if "linr" in codecs:
            s = result["summary"].get("linr")
            cells.append(f"{s['mean_encode_ms'] / 1000:#.3g} / {s['mean_decode_ms'] / 1000:#.3g}"
                         if s and s["measured"] else "")
        lines.append(f"| {' | '.join(cells)} |")
    return f"{unit}, whole files, every round trip checked\n\n" + "\n".join(lines) + "\n"


# ------------------------------------------------------------ environment


def _dist_version(name: str) -> str | None:
    """An installed distribution's version, without importing it (importing torch is slow)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions(codecs: list[Codec]) -> dict:
    import cv2

    versions = {"numpy": np.__version__, "opencv": cv2.__version__,
                "imagecodecs": _dist_version("imagecodecs"), "torch": _dist_version("torch"),
                "matplotlib": _dist_version("matplotlib"), "numba": _dist_version("numba"),
                "constriction": _dist_version("constriction")}
    linr = [c for c in codecs if c.name == "linr"]
    versions["inrcodec"] = linr[0].version if linr else getattr(sys.modules.get("inrcodec"), "__version__", None)
    return versions


def machine_info() -> dict:
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    torch = sys.modules.get("torch")  # only if already imported (by linr): timings depend on it
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    return info


def resource_usage() -> dict:
    """Peak resident memory and CPU times of this process so far (children excluded)."""
    if resource is None:  # pragma: no cover - Windows
        return {"peak_rss_bytes": None}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_bytes": peak_rss_bytes(ru),
            "user_cpu_s": round(ru.ru_utime, 3), "system_cpu_s": round(ru.ru_stime, 3)}


def peak_rss_bytes(usage) -> int:
    """A struct rusage's peak resident memory in bytes (ru_maxrss: bytes on macOS, KiB elsewhere)."""
    return int(usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024))


def to_json(result: dict) -> str:
    """Indented JSON, but one line per record so big runs stay small and greppable."""
    head = json.dumps({**result, "records": "@RECORDS@"}, indent=1)
    rows = ",\n".join("  " + json.dumps(r) for r in result["records"])
    return head.replace('"@RECORDS@"', "[\n" + rows + "\n ]") + "\n"


# ------------------------------------------------------------------ runner


def run_benchmark(
    images: list[tuple[str, np.ndarray]],
    codecs: list[Codec],
    *,
    name: str,
    dataset: dict,
    out_dir: str | Path = ".",
    resume: bool = False,
    keep_going: bool = False,
    quiet: bool = False,
    command: list[str] | None = None,
    options: dict | None = None,
    plot: bool = True,
) -> dict:
    """Measure every image with every codec and write ``<name>.json/.md/.jsonl/.png``.

    Raises :class:`MismatchError` on the first wrong round trip unless
    ``keep_going`` (then all mismatches are recorded and the caller must
    still exit non-zero: ``result['failed']`` is True).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_path = out_dir / f"{name}.jsonl"

    # Cached records (only verified or not-applicable ones are ever written).
    cache = {}
    if resume and cache_path.exists():
        for line in cache_path.read_text().splitlines():
            try:
                entry = json.loads(line)
                cache[entry["key"]] = entry["record"]
            except (json.JSONDecodeError, KeyError):
                pass  # a line cut short by an interrupted run
    started = time.time()
    records = []
    with open(cache_path, "a" if resume else "w") as cache_file, tqdm(
        total=len(images) * len(codecs), disable=quiet, file=sys.stderr, unit="enc", desc=name
    ) as bar:
        for img_name, img in images:
            sha = image_sha256(img)
            for codec in codecs:
                key = cache_key(codec, img_name, sha)
                rec = cache.get(key)
                if rec is None:
                    rec = measure(codec, img_name, img, sha)
                    if rec["status"] == "mismatch" and not keep_going:
                        raise MismatchError(
                            f"MISMATCH: codec {codec.name} on image {img_name}: {rec['reason']}"
                        )
                    if rec["status"] != "mismatch":
                        cache_file.write(json.dumps({"key": key, "record": rec}) + "\n")
                        cache_file.flush()
                records.append(rec)
                bar.update()

    summary = summarise(records, codecs, len(images))
    result = {
        "name": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 3),
        "command": command or [],
        "options": options or {},
        "dataset": {**dataset, "images": len(images)},
        "machine": machine_info(),
        "versions": library_versions(codecs),
        "resources": resource_usage(),
        "failed": any(s["mismatches"] for s in summary.values()),
        "summary": summary,
        "records": records,
    }
    (out_dir / f"{name}.json").write_text(to_json(result))
    (out_dir / f"{name}.md").write_text(markdown_table(result))
    if plot:
        from .plot import plot_results

        plot_results([result], out_dir / f"{name}.png")
    return result
