"""Online learning of the network's last layer, measured with linr's mixer in the loop (a lab).

    python scripts/online_lab.py p768 65536:0 1024:1e-3 256:1e-3 256:1e-3:means
    python scripts/online_lab.py p768 --fit 65536:0 256:1e-3      # on top of effort 2's fitted delta
    python scripts/online_lab.py p128 65536:0 64:1e-3

What it measures (scripts/online_lab.md has the results): the ideal code length of every
pixel decision (walker.CostSink: the product's compiled kernels, mixing and SSE included, on
validation images only) when the decoder would correct the network's last layer online, for
free, from the pixels it has decoded. The decisions are taken in blocks of B pixels inside
each chunk (all channels and planes of a block, then the next block: the order a format would
need for this); before a block, its trunk outputs get `hidden @ dW.T + db` added (the last
hidden layer from the float twin, the correction rounded to the outputs' 12 fractional bits);
after it, dW and db take one optimiser step on the block's code length under the network
(network.nll_bits, the fit's loss). B = 65536 with rate 0 is the product's order and outputs.

This is a float prototype: a format would need an integer rule for the update. Each SPEC is
BLOCK:RATE[:OUTPUTS[:OPTIMISER]]: OUTPUTS all (default), means (the two means a channel),
scales (the two log-scales), bias (db only); OPTIMISER adam (default) or sgd.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "scripts"))


def output_mask(outs: str, rows: int, channels: int):
    import torch
    mask = torch.ones(rows, 1)
    if outs == "means":
        mask = torch.zeros(rows, 1)
        mask[:channels] = 1
        mask[4 * channels:5 * channels] = 1
    elif outs == "scales":
        mask = torch.zeros(rows, 1)
        mask[channels:3 * channels] = 1
    return mask


def code_length(img: np.ndarray, cfg, weights: list, block: int, rate: float, outs: str = "all",
                optimiser: str = "adam") -> float:
    """Bits of img's pixel decisions (and flags) with the last layer learnt online."""
    import torch
    from inrcodec import exact
    from inrcodec.backend import COMPILED
    from inrcodec.network import FloatNet, nll_bits
    from inrcodec.schedule import CHUNK
    from inrcodec.tables import ACT_ONE
    from inrcodec.walker import CostSink, Geometry, chunk_order, constant_planes, walk_constants
    h, w, C = img.shape
    bits = 8 if img.dtype == np.uint8 else 16
    img16 = img.astype(np.uint16)
    geom = Geometry(h, w, C, bits)
    const = constant_planes(img16, bits)
    prepared = exact.prepare(weights, cfg)
    learner = geom.tables()
    sink = CostSink(img16)
    walk_constants(const, geom, sink)
    net = FloatNet(cfg, weights, grid_weights=False)
    rows, hidden_width = net.weights()[-2].shape
    dW = torch.zeros((rows, hidden_width), requires_grad=True)
    db = torch.zeros(rows, requires_grad=True)
    mask = output_mask(outs, rows, C)
    params = [db] if outs == "bias" else [dW, db]
    opt = None
    if rate > 0:
        opt = torch.optim.Adam(params, lr=rate) if optimiser == "adam" else torch.optim.SGD(params, lr=rate)
    for p, start in chunk_order(geom):
        stop = min(start + CHUNK, p.count)
        ys, xs = p.coords(start, stop)
        ctx = COMPILED.features(img16, p, ys, xs, bits, start)
        out = COMPILED.trunk(cfg, prepared, ctx.feats)
        x = torch.from_numpy(ctx.feats.astype(np.float32) / ACT_ONE)
        hid = net.hidden(x)
        with torch.no_grad():
            base = net(x)
        vals = torch.from_numpy(img[ys, xs].astype(np.float32))
        anchor = torch.from_numpy(ctx.anchor.astype(np.float32))
        scale = torch.from_numpy(np.exp2(ctx.shift.astype(np.float64)).astype(np.float32))
        top = torch.full((len(ys),), float(1 << bits))
        for a in range(0, len(ys), block):
            s = slice(a, min(a + block, len(ys)))
            with torch.no_grad():
                corr = (hid[s] @ (dW * mask).T + db * mask[:, 0]).numpy().astype(np.float64)
            o = np.ascontiguousarray(out[s] + np.round(corr * ACT_ONE).astype(np.int64))
            COMPILED.chunk((o, ctx.anchor[s], ctx.shift[s], ctx.mix[s]), bits, const, learner, sink,
                           ys[s], xs[s])
            if opt is not None:
                f = base[s] + hid[s] @ (dW * mask).T + db * mask[:, 0]
                loss = nll_bits(f, anchor[s], scale[s], vals[s], top[s]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    return sink.cost


def fitted_weights(img: np.ndarray, prior: str) -> list:
    """The weights effort 2 would code img with (its prior + fitted delta)."""
    from inrcodec.encoder import Encoder
    enc = Encoder(np.ascontiguousarray(img), effort=2, prior=prior, mode="smallest", seed=0, device="cpu",
                  overrides={}, order="given", progress=False)
    plan = enc.run()
    return plan.delta.apply(plan.base)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", choices=["p768", "p128", "illu"])
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--count", type=int, default=0, help="the first COUNT images (default: 4, 12, 6)")
    ap.add_argument("--fit", action="store_true", help="start from effort 2's fitted weights")
    args = ap.parse_args()
    import torch
    from inrcodec import priors
    from rate_check import illustrations768, validation_photos768
    from train_prior import image_set
    torch.set_num_threads(1)
    load = {"p768": (validation_photos768, 4),
            "p128": (lambda: image_set("photo-5", "val", np.random.default_rng(1)), 12),
            "illu": (illustrations768, 6)}
    source, count = load[args.images]
    images = [np.ascontiguousarray(a) for a in source()[:args.count or count]]
    prior = priors.load("photo-7")
    weights = [fitted_weights(a, "photo-7") if args.fit else list(prior.weights) for a in images]
    first = None
    for spec in args.specs:
        block, rate, *rest = spec.split(":")
        t = time.perf_counter()
        costs = [code_length(a, prior.cfg, w, int(block), float(rate), *rest) for a, w in zip(images, weights)]
        first = first or costs
        change = 100 * (sum(costs) / sum(first) - 1)
        print(f"{args.images} {spec}: {sum(costs) / 8:.0f} bytes ({change:+.2f}%), per image "
              + " ".join(f"{100 * (c / f - 1):+.2f}%" for c, f in zip(costs, first))
              + f" ({time.perf_counter() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
