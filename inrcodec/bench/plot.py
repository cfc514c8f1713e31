"""Plots of one or several result files (matplotlib, Agg backend: no display needed).

Left: mean bpp per codec, one bar per run (dataset).  Right: mean bpp against
mean encode time per image (log x), one colour per codec, one marker per run.
Codecs measured on fewer images than the run has are labelled ``n=measured``.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .codecs import ALL_CODECS  # noqa: E402

MARKERS = "osD^vP*Xph"


def plot_results(results: list[dict], out: str | Path) -> Path:
    """Draw the two panels for ``results`` (dicts as written by the runner) into ``out``."""
    seen = dict.fromkeys(c for r in results for c in r["summary"])  # union of the runs' codecs
    codecs = sorted(seen, key=lambda c: ALL_CODECS.index(c) if c in ALL_CODECS else len(ALL_CODECS))
    colours = {c: plt.cm.tab10(i % 10) for i, c in enumerate(codecs)}
    fig, (bars, scatter) = plt.subplots(1, 2, figsize=(13, 5))

    # (a) grouped bars: x = codec, one bar per run
    width = 0.8 / len(results)
    for i, r in enumerate(results):
        label = f"{r['name']} ({r['dataset']['images']} img)"  # legend entry, used once
        for j, codec in enumerate(codecs):
            s = r["summary"].get(codec)
            x = j - 0.4 + width * (i + 0.5)
            if not s:
                continue
            if s["mean_bpp"] is None:  # measured on no image: say so, draw no bar
                bars.text(x, 0, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
                continue
            bars.bar(x, s["mean_bpp"], width, color=plt.cm.Set2(i % 8), edgecolor="black", label=label)
            label = None
            text = f"{s['mean_bpp']:.2f}"
            if s["measured"] < s["images"]:
                text += f"\nn={s['measured']}"
            bars.text(x, s["mean_bpp"], text, ha="center", va="bottom", fontsize=7)
    bars.set_xticks(range(len(codecs)), codecs, rotation=30)
    bars.set_ylabel("mean bits per pixel (lower is better)")
    bars.set_title("Lossless size")
    bars.legend(fontsize=8)

    # (b) bpp against encode time
    for i, r in enumerate(results):
        for codec, s in r["summary"].items():
            if s["mean_bpp"] is None or not s["mean_encode_ms"]:
                continue
            scatter.scatter(s["mean_encode_ms"], s["mean_bpp"], color=colours[codec],
                            marker=MARKERS[i % len(MARKERS)], s=50, edgecolor="black")
            scatter.annotate(codec, (s["mean_encode_ms"], s["mean_bpp"]), fontsize=7,
                             xytext=(4, 3), textcoords="offset points")
    for i, r in enumerate(results):  # legend: one entry per run (marker)
        scatter.scatter([], [], marker=MARKERS[i % len(MARKERS)], color="grey", label=r["name"])
    scatter.set_xscale("log")
    scatter.set_xlabel("mean encode time per image (ms, log scale)")
    scatter.set_ylabel("mean bits per pixel")
    scatter.set_title("Size against encode time")
    scatter.grid(True, which="both", alpha=0.3)
    scatter.legend(fontsize=8)

    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
