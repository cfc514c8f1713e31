"""Mixing lab: how much would context mixing in the decision kernel buy (format 5)?

A measured prototype, not part of the product. For each validation image it
encodes with inrcodec's Encoder (effort 0, prior auto), records the network's
raw k of every coded decision in decoding order (walker.walk, adaptive=False)
and format 4's cost (adaptive=True), then runs the integer mixing kernel
(scripts/mixing_kernels.py) over the same decisions in the same order.

    python scripts/mixing_lab.py collect        # cache decisions under /tmp/mixing_lab
    python scripts/mixing_lab.py ablate         # the ablation table
    python scripts/mixing_lab.py tune           # learning-rate / limit / table sweeps
    python scripts/mixing_lab.py time           # time per decision (warm process)

Validation data only (no Kodak, img16, PngSuite, MNIST t10k).
"""
from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from inrcodec import exact, features, walker  # noqa: E402
from inrcodec.encoder import Encoder  # noqa: E402
from inrcodec.schedule import CHUNK, GRID  # noqa: E402

import mixing_kernels as mk  # noqa: E402
from rate_check import centre, elevation  # noqa: E402

CACHE = Path("/tmp/mixing_lab")


# -- data ----------------------------------------------------------------------
def datasets():
    from train_prior import medical, photo_sources, to8
    from inrcodec.bench import datasets as bd
    photos = [to8(a) for a in photo_sources("val")]          # B, G, R
    out = {
        "photo128": [centre(a, 128, 128) for a in photos[:8]],
        "photo768": [centre(a, 768, 512) for a in photos if min(a.shape[:2]) >= 512][:4],
        "gray16": medical("val") + [elevation()],
        # the last 200 training images: train_prior holds the last 1000 out of prior training
        "mnist200": [np.asarray(a) for _, a in bd.load("mnist-train", limit=200, offset=60000 - 200)],
    }
    return out


class RecordSink(walker.ImageSink):
    """Keeps, per chunk, its pixels, neighbour indices and the (bit, k) rows."""

    def __init__(self, img3):
        super().__init__(img3)
        self.chunks = []
        self._cur = None

    def begin_chunk(self, p, start, adapt):
        h, w = self.img3.shape[:2]
        ys, xs = p.coords(start, min(start + CHUNK, p.count))
        if p.kind == GRID:
            nb = np.full((len(ys), 12), -1, np.int64)
        else:
            nb = features.neighbour_index(p, ys, xs, h, w).T.astype(np.int64)
        self._cur = dict(pix=(ys * w + xs).astype(np.int64), nb=np.ascontiguousarray(nb),
                         kind=np.full(len(ys), p.kind, np.int64), level=np.full(len(ys), p.level, np.int64))
        self.chunks.append(self._cur)

    def record_rows(self, bit_rows, k_rows):
        self._cur["k"] = np.ascontiguousarray(np.asarray(k_rows).T.astype(np.uint16))
        self._cur["bits"] = np.asarray(bit_rows).T.astype(np.uint8)


def collect_one(image):
    enc = Encoder(image, effort=0, prior="auto", mode="smallest", seed=0, device="cpu", overrides={},
                  order="given", progress=False)
    plan = enc.run()
    weights = plan.delta.apply(plan.base)
    cfg = plan.header.cfg
    img3 = enc.img3
    h, w, c = img3.shape
    bits = enc.info.bits
    sink = RecordSink(img3)
    walker.walk(walker.Geometry(h, w, c, bits, adaptive=False), cfg, weights, enc.const, sink, known=img3)
    cost4 = walker.CostSink(img3)
    walker.walk(walker.Geometry(h, w, c, bits, adaptive=True), cfg, weights, enc.const, cost4, known=img3)
    ch = [q for q in sink.chunks if "k" in q]
    d = {key: np.concatenate([q[key] for q in ch]) for key in ("pix", "nb", "kind", "level", "k", "bits")}
    d["chunk_off"] = np.cumsum([0] + [len(q["pix"]) for q in ch]).astype(np.int64)
    net = exact.bits_cost(d["k"], d["bits"])
    d.update(img=img3.reshape(h * w, c).astype(np.int64), bits_n=bits, const=enc.const.astype(np.int64),
             net=net, f4=cost4.cost, pixels=h * w, prior=plan.label, shape=(h, w, c))
    del d["bits"]
    return d


def collect():
    CACHE.mkdir(exist_ok=True)
    for name, imgs in datasets().items():
        t0 = time.time()
        # an image whose planes are all constant has no decisions (photo128: one crop)
        data = [collect_one(a) for a in imgs if (a != a.reshape(-1, *a.shape[2:])[0]).any()]
        with open(CACHE / f"{name}.pkl", "wb") as f:
            pickle.dump(data, f)
        print(f"{name}: {len(data)} images, {time.time() - t0:.1f}s, priors "
              f"{sorted(set(d['prior'] for d in data))}", flush=True)


def load(name):
    with open(CACHE / f"{name}.pkl", "rb") as f:
        return pickle.load(f)


# -- the kernel -------------------------------------------------------------------
TABLES = mk.make_tables()
DEFAULT = dict(mask=0b11111111, use_net=1, use_apm=1, lr=6, limit=255, tbits=0, apm_rate=6, mix_sel=0)


def table_bits(d):
    dec = d["k"].size
    return int(np.clip(int(dec).bit_length() - 2, 12, 22))


def run(d, keep=False, **kw):
    o = {**DEFAULT, **kw}
    tb = o["tbits"] or table_bits(d)
    out_k = np.zeros_like(d["k"]) if keep else np.zeros((0, d["k"].shape[1]), np.uint16)
    cost = mk.run_image(d["img"], d["bits_n"], d["const"], d["pix"], d["nb"], d["kind"], d["level"],
                        d["chunk_off"], d["k"], o["mask"], o["use_net"], o["use_apm"], o["lr"], o["limit"],
                        tb, o["apm_rate"], o["mix_sel"], *TABLES, out_k)
    return (cost, out_k) if keep else cost


LEAN_TABLES = mk.make_lean_tables()
# the recommended design (lr in 1/4 units: 48 -> 12 over ~65536 decisions of a weight set)
LEAN = dict(lr=192, limit=255, apm_rate=6, use_apm=0, lr_lo=48, decay=1 << 16, drop=0)


def run_lean(d, **kw):
    o = {**LEAN, **kw}
    return mk.run_lean(d["img"], d["bits_n"], d["const"], d["pix"], d["nb"], d["kind"], d["chunk_off"], d["k"],
                       o["lr"], o["limit"], o["apm_rate"], *LEAN_TABLES, o["use_apm"], o["lr_lo"],
                       o["decay"], o["drop"])


def bpp(data, costs):
    return sum(costs) / sum(d["pixels"] for d in data)


SETS = ("photo128", "photo768", "gray16", "mnist200")


def table(rows, sets=SETS):
    data = {s: load(s) for s in sets}
    head = "| configuration | " + " | ".join(f"{s} bpp (vs f4)" for s in sets) + " |"
    print(head)
    print("|---|" + "---:|" * len(sets))
    f4 = {s: bpp(data[s], [d["f4"] for d in data[s]]) for s in sets}
    for label, kw in rows:
        cells = []
        for s in sets:
            if kw == "net":
                v = bpp(data[s], [d["net"] for d in data[s]])
            elif kw == "f4":
                v = f4[s]
            elif isinstance(kw, tuple):           # ("lean", options)
                v = bpp(data[s], [run_lean(d, **kw[1]) for d in data[s]])
            else:
                v = bpp(data[s], [run(d, **kw) for d in data[s]])
            cells.append(f"{v:.4f} ({100 * (v / f4[s] - 1):+.2f}%)")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def bitmask(*models):
    return sum(1 << m for m in models)


def ablate():
    M = mk
    rows = [
        ("network alone (adaptive=False)", "net"),
        ("format 4 (adaptive=True)", "f4"),
        ("mixer: net + bias only", dict(mask=0, use_apm=0)),
        ("+ prefix (order-0 value prefix)", dict(mask=bitmask(M.M_PREFIX), use_apm=0)),
        ("+ anchor-err, dir-err", dict(mask=bitmask(M.M_PREFIX, M.M_ANCHOR, M.M_DIR), use_apm=0)),
        ("+ inter-channel", dict(mask=bitmask(M.M_PREFIX, M.M_ANCHOR, M.M_DIR, M.M_IC), use_apm=0)),
        ("+ knet-bucket", dict(mask=bitmask(M.M_PREFIX, M.M_ANCHOR, M.M_DIR, M.M_IC, M.M_KNET), use_apm=0)),
        ("+ texture, prefix+pred, pass-level", dict(mask=0xFF, use_apm=0)),
        ("+ APM (channel, plane)", dict(mask=0xFF, use_apm=1)),
        ("+ APM (channel, plane, activity)", dict(mask=0xFF, use_apm=2)),
        ("pure CM (no network input), all models + APM", dict(mask=0xFF, use_net=0, use_apm=1)),
    ]
    table(rows)


def tune():
    rows = []
    for lr in (2, 4, 6, 10, 16):
        rows.append((f"all, APM, lr={lr}", dict(lr=lr)))
    for limit in (60, 127, 1023):
        rows.append((f"all, APM, limit={limit}", dict(limit=limit)))
    for ar in (5, 7):
        rows.append((f"all, APM rate {ar}", dict(apm_rate=ar)))
    rows.append(("all, APM, mixer sets x activity", dict(mix_sel=1)))
    table(rows)


def lean_ablate():
    names = ["prefix", "anchor-err", "dir-err", "inter-channel", "texture", "network"]
    rows = [("network alone", "net"), ("format 4", "f4"), ("lean, recommended (no APM)", ("lean", dict()))]
    for q, nm in enumerate(names):
        rows.append((f"lean without {nm}", ("lean", dict(drop=1 << q))))
    rows.append(("lean, net + bias only", ("lean", dict(drop=0b11111))))
    rows.append(("lean + APM (channel, plane), half", ("lean", dict(use_apm=2))))
    rows.append(("lean, 3 models: prefix, anchor-err, inter-channel", ("lean", dict(drop=4 | 16))))
    rows.append(("lean, 3 models + APM half", ("lean", dict(drop=4 | 16, use_apm=2))))
    table(rows)


def lean():
    rows = [("format 4", "f4")]
    rows.append(("lean, lr=24", ("lean", dict())))
    rows.append(("lean, lr=24, no APM", ("lean", dict(use_apm=0))))
    rows.append(("lean, lr=24, APM half", ("lean", dict(use_apm=2))))
    for hi, lo, dec in ((192, 48, 1 << 16), (256, 56, 1 << 15), (192, 64, 1 << 17), (256, 48, 1 << 16)):
        rows.append((f"lean, lr {hi / 4:g} -> {lo / 4:g}, decay {dec}, APM half",
                     ("lean", dict(lr=hi, lr_lo=lo, decay=dec, use_apm=2))))
        rows.append((f"lean, lr {hi / 4:g} -> {lo / 4:g}, decay {dec}, no APM",
                     ("lean", dict(lr=hi, lr_lo=lo, decay=dec, use_apm=0))))
    table(rows)


def timing():
    data = load("photo768")
    d = data[0]
    n = d["k"].size
    for name, fn in (("general kernel (8 hashed models)", run), ("lean kernel (5 direct models, no APM)", run_lean),
                     ("lean kernel + APM", lambda d: run_lean(d, use_apm=2)),
                     ("lean kernel, 3 models (prefix, anchor, inter-channel), no APM",
                      lambda d: run_lean(d, drop=4 | 16)),
                     ("lean kernel, net + bias only (mixer cost alone)", lambda d: run_lean(d, drop=31))):
        fn(d)                                       # compile / warm
        best = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn(d)
            best.append(time.perf_counter() - t0)
        print(f"{name}, photo768[0] (768x512x3): {n} decisions, best of 3 {min(best):.3f}s, "
              f"{1e9 * min(best) / n:.1f} ns/decision (single thread, warm process, machine shared)", flush=True)


def per_image():
    """gray16 image by image; how many small images get worse than format 4."""
    for s in ("gray16", "photo128", "mnist200"):
        data = load(s)
        worse = 0
        for i, d in enumerate(data):
            v = run_lean(d)
            worse += v > d["f4"]
            if s != "mnist200":
                print(f"{s}[{i}] {d['shape']} {d['bits_n']}-bit prior {d['prior']}: net {d['net'] / d['pixels']:.4f}, "
                      f"f4 {d['f4'] / d['pixels']:.4f}, lean {v / d['pixels']:.4f} bpp ({100 * (v / d['f4'] - 1):+.2f}%)")
        print(f"{s}: {worse} of {len(data)} images cost more than format 4 under the lean design", flush=True)



if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "ablate"
    {"collect": collect, "ablate": ablate, "tune": tune, "time": timing, "lean": lean, "lean_ablate": lean_ablate,
     "per_image": lambda: per_image()}[cmd]()
