"""What measuring on smaller crops than the 192x192 one costs the encoder's choices
(linr 0.14.1: encoder.SHORTLIST_SIDE for the ranking, STEP_SEARCH_SIDE for the step search).

    LINR_BENCH_DATA=../shared/data python scripts/shortlist_lab.py rank   # the priors' ranking
    LINR_BENCH_DATA=../shared/data python scripts/shortlist_lab.py step   # the delta's step
    LINR_BENCH_DATA=../shared/data python scripts/shortlist_lab.py qat    # QAT or not

rank: for 768x512 validation photos, illustration crops and a few training photos, every
built-in prior's cost on centre crops of 64, 96 and 128 pixels against the 192x192 ranking:
which prior each would rank first, what that choice costs on the 192x192 crop, and the fit
start it would lead to. step: for 768x512 photo crops (training and validation, both colour
orders) and illustration crops, the fitted delta (effort 2) quantised with each step 2^-e,
e = 2..8, measured on both crops: the 192x192 crop's best e, the 128x128 crop's, and what
the latter costs on the former. qat: the same fits, the delta the search found and its QAT
delta written as whole files and measured on the 96x96, 128x128 and 192x192 centre crops:
which is smaller, and which each crop would choose. Validation and training data only
(TRAINING.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inrcodec  # noqa: E402
import inrcodec.encoder as E  # noqa: E402
from rate_check import centre, illustrations768, validation_photos768  # noqa: E402
from train_prior import photo_sources, to8  # noqa: E402


def train_crops() -> list:
    crops = [centre(to8(a), 768, 512) for a in photo_sources("train") if min(a.shape[:2]) >= 512]
    return [a for a in crops if a.shape[:2] == (512, 768)]


def rank() -> None:
    sets = {"p768": validation_photos768(), "illu": illustrations768(), "train768": train_crops()[::7][:12]}
    for name, images in sets.items():
        regrets = {}
        for img in images:
            enc = E.Encoder(img, effort=2, prior="auto", mode="bpp", seed=0, device="cpu", overrides={},
                            order="rgb", progress=False)
            plans = enc.starts()
            big = {p.label: enc.crop_cost(p.header.cfg, p.base) + 8 * len(p.header.pack()) for p in plans}
            best = min(big, key=big.get)
            near = [p for p in big if p in enc.training and big[p] <= big[best] * (1 + E.FIT_START_MARGIN)]
            start = max(near, key=lambda p: enc.training[p]) if best in enc.training else best
            line = [name, f"192:{best}/{start}"]
            for side in (64, 96, 128):
                crop = E.centre_crop(enc.img3, side)
                small = {p.label: enc.crop_cost(p.header.cfg, p.base, crop) + 8 * len(p.header.pack())
                         for p in plans}
                chosen = min(small, key=small.get)
                near = [p for p in small if p in enc.training and small[p] <= small[chosen] * (1 + E.FIT_START_MARGIN)]
                start = max(near, key=lambda p: enc.training[p]) if chosen in enc.training else chosen
                regrets.setdefault(side, []).append(big[chosen] / big[best] - 1)
                line.append(f"{side}:{chosen}/{start} {regrets[side][-1]:+.3%}")
            print(*line, flush=True)
        print(name, {k: f"mean {np.mean(v):+.3%} max {np.max(v):+.3%}" for k, v in regrets.items()}, flush=True)


def step() -> None:
    search = E.Encoder.best_step

    def best_step(self, start, net, tensors, label, fitter, crop=None):
        found = search(self, start, net, tensors, label, fitter, crop)
        small = E.centre_crop(self.img3, 128)
        big, sm = {}, {}
        for e in range(2, 9):
            delta = self.quantised_delta(start, fitter, net, {i: e for i in tensors})
            big[e] = self.measured(start, delta, label).bits
            sm[e] = self.measured(start, delta, label, small).bits
        eb, es = min(big, key=big.get), min(sm, key=sm.get)
        print(f"  search {found.step} 192-best {eb} 128-best {es} cost {big[es] / big[eb] - 1:+.3%}  on 192: "
              + " ".join(f"{e}:{big[e] / big[eb] - 1:+.2%}" for e in big), flush=True)
        return found
    E.Encoder.best_step = best_step
    for img in train_crops() + validation_photos768() + illustrations768()[6:]:
        for order in ("given", "rgb"):
            inrcodec.encode(img, effort=2, seed=0, color_order=order)


def qat() -> None:
    """linr 0.14.2: which of the found and QAT deltas the whole file prefers, and each crop."""
    fits, measured = {}, E.Encoder.measured

    def record(self, start, delta, label, crop=None):
        if delta.tensors:
            fits.setdefault(id(self), (self, start, {}))[2][label.endswith("+qat")] = delta   # the last: the find
        return measured(self, start, delta, label, crop)
    E.Encoder.measured = record
    sets = {"train768": train_crops()[:8], "p768": validation_photos768(), "illu": illustrations768()}
    for name, images in sets.items():
        wins, right = [], {96: 0, 128: 0, 192: 0}
        for img in images:
            for order in ("given", "rgb"):
                fits.clear()
                inrcodec.encode(img, effort=2, seed=0, color_order=order)
                if not fits or True not in next(iter(fits.values()))[2]:
                    continue
                (enc, start, deltas), = fits.values()
                if False not in deltas:
                    continue
                plans = {q: E.Plan(start.header, start.base, deltas[q]) for q in (False, True)}
                full = {q: len(E.write(p, enc)) for q, p in plans.items()}
                wins.append(full[True] / full[False] - 1)
                line = [name, order, f"QAT {wins[-1]:+.3%}"]
                for side in right:
                    crop = E.centre_crop(enc.img3, side)
                    bits = {q: measured(enc, start, p.delta, "", crop).bits for q, p in plans.items()}
                    chosen = bits[True] <= bits[False]
                    right[side] += chosen == (full[True] <= full[False])
                    line.append(f"{side}: {bits[True] / bits[False] - 1:+.3%}")
                print(*line, flush=True)
        print(name, f"{len(wins)} fits: QAT smaller in {sum(w < 0 for w in wins)}, mean {np.mean(wins):+.3%}, "
              f"worst {np.max(wins):+.3%}; crops choosing as the file: {right}", flush=True)


if __name__ == "__main__":
    {"rank": rank, "step": step, "qat": qat}[sys.argv[1]]()
