"""Time the encoder's fit step in one process (a warm-process figure).

    python scripts/fit_step_time.py                    # this tree's step (the CPU fit, cpu_fit.py)
    python scripts/fit_step_time.py --fit torch        # torch's step (fitting.py: ber0, CUDA, sine)
    python scripts/fit_step_time.py --fit torch --head reference   # the head's gradient by autograd
    PYTHONPATH=/tmp/old python scripts/fit_step_time.py   # another checkout's step

kodim05's rows (walker.image_rows, every pixel) under photo-7 (relu16), the every-layer
fit's minibatches of encoder.PRIOR_FIT_BATCH rows, Adam at the fit's rate: milliseconds a
step, the best of 8 blocks of 25 steps after 20 to warm up. torch's (one torch thread) also
gives the time of each stage (the trunk's forward, the head's forward, the backward, Adam)
over 100 more; the CPU fit's runs on this machine's thread budget with one BLAS thread, as
the encoder runs it (--threads 1: its two halves one after the other).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim05.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", choices=["cpu", "torch"], default="cpu")
    ap.add_argument("--head", choices=["product", "reference"], default="product",
                    help="torch: network.nll_bits_reference (autograd through the per-channel head)")
    ap.add_argument("--threads", type=int, default=None, help="the CPU fit's thread budget")
    args = ap.parse_args()
    if args.fit == "cpu":
        return cpu_step(args.threads)
    import cv2
    import torch

    import inrcodec
    from inrcodec import network, priors
    from inrcodec.encoder import NARROW_FIT_LR, PRIOR_FIT_BATCH
    from inrcodec.fitting import Adam
    from inrcodec.walker import image_rows
    torch.set_num_threads(1)
    loss_of = network.nll_bits if args.head == "product" else network.nll_bits_reference
    img = cv2.imread(str(KODAK)).astype(np.uint16)                  # B, G, R: the model's order
    prior = priors.load("photo-7")
    data = network.rows_to_tensors(image_rows(img, 8, 1.0, np.random.default_rng(0)))
    net = network.FloatNet(prior.cfg, list(prior.weights), grid_weights=False)
    opt = Adam(list(net.delta), lr=NARROW_FIT_LR)
    gen = torch.Generator().manual_seed(0)
    n = data["x"].shape[0]
    stages = Counter()

    def step(timed=False):
        t0 = time.perf_counter()
        sel = torch.randint(0, n, (PRIOR_FIT_BATCH,), generator=gen)
        x, anchor, scale, values, top = (data[k].index_select(0, sel) for k in ("x", "anchor", "scale", "values", "top"))
        t1 = time.perf_counter()
        out = net(x)
        t2 = time.perf_counter()
        loss = loss_of(out, anchor, scale, values, top).mean()
        t3 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        if timed:
            stages.update({"rows": t1 - t0, "trunk": t2 - t1, "head": t3 - t2, "backward": t4 - t3, "adam": t5 - t4})
    for _ in range(20):
        step()
    best = float("inf")
    for _ in range(8):
        t = time.perf_counter()
        for _ in range(25):
            step()
        best = min(best, (time.perf_counter() - t) / 25)
    for _ in range(100):
        step(timed=True)
    parts = ", ".join(f"{k} {v * 10:.2f}" for k, v in stages.items())
    print(f"{inrcodec.__file__}, head {args.head}: {best * 1000:.2f} ms a step (best of 8 x 25); "
          f"stages, ms a step: {parts}")


def cpu_step(budget) -> None:
    import cv2

    import inrcodec
    from inrcodec import cpu_fit, priors, threads
    from inrcodec.encoder import NARROW_FIT_LR, PRIOR_FIT_BATCH
    from inrcodec.walker import image_rows
    threads.configure(budget)
    img = cv2.imread(str(KODAK)).astype(np.uint16)
    prior = priors.load("photo-7")
    data = cpu_fit.prepare(image_rows(img, 8, 1.0, np.random.default_rng(0)))
    net = cpu_fit.CpuNet(prior.cfg, list(prior.weights))
    every = list(range(len(net.delta)))
    with threads.one_blas_thread():
        cpu_fit.train(net, data, 20, trainable=every, lr=NARROW_FIT_LR, batch=PRIOR_FIT_BATCH)
        best = float("inf")
        for seed in range(8):
            t = time.perf_counter()
            cpu_fit.train(net, data, 25, trainable=every, lr=NARROW_FIT_LR, batch=PRIOR_FIT_BATCH, seed=seed)
            best = min(best, (time.perf_counter() - t) / 25)
    print(f"{inrcodec.__file__}, the CPU fit on {threads.budget()} thread(s): {best * 1000:.2f} ms a step "
          "(best of 8 x 25)")


if __name__ == "__main__":
    sys.exit(main())
