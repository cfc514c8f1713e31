"""The encoder's search: which prior, which weight delta, which quantisation.

Every candidate is judged by measured code length under the exact integer
network (walker.CostSink), on the whole image or, for large images, on a
fixed centre crop (costs scaled to the image). A delta is kept only when its
bytes plus the residual bytes beat the plan without it. Deltas are fitted on
the CPU without torch (cpu_fit.py); torch is imported only for the fits that
need it (fit_needs_torch: ber0, CUDA, sine networks).
"""
from __future__ import annotations

import dataclasses
import sys
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import container, cpu_fit, exact, gray, priors, threads
from .backend import COMPILED
from .channels import swap_rb_in_place
from .entropy import BackwardWriter, int_decisions
from .errors import LinrError, VerificationError
from .model import NetConfig, seeded_init
from .groups import default_size, pack_streams, size_of
from .walker import (DELTA, FLAGS, PIXELS, CostSink, Geometry, ImageSink, TableSink, coded_decisions,
                     constant_planes, image_rows, stream_plan, walk, walk_chunk, walk_constants, walk_terminator)
from .wire import (SEEDED, Delta, Header, ImageInfo, int_params, min_file_bytes, pixel_hash)

PADDING = b"p"
RANK_SIDE = 192             # plans are compared on a centre crop at most this big
PARALLEL_RANK_PIXELS = 1 << 13      # crops from this size are ranked on several threads
# With more candidates than SHORTLIST, all of them are first ranked on a centre crop at most
# SHORTLIST_SIDE big, then the SHORTLIST cheapest on RANK_SIDE's: a 96x96 crop walk costs a
# quarter of a 192x192 one. On 4 768x512 validation photos, 15 illustration crops and 3
# training photos a 128x128 ranking alone chose the prior the 192x192 one chose and the same
# fit start; a 96x96 one alone chose another on 3 illustrations (+0.16%, +0.16%, +0.09% on
# the 192x192 crop) and another fit start on one (scripts/shortlist_lab.py rank). With the two
# cheapest measured again on 192x192, 96x96 and 128x128 wrote the same files on the
# validation photos, illustrations and 16-bit gray (scripts/rate_check.py, efforts 0 and 2).
# (A fixed count, not the thread budget's: the choice must not depend on the machine.) The
# shortlist's crop, half the ranking crop's side, is also Encoder.estimated_bits' smaller one.
SHORTLIST, SHORTLIST_SIDE = 2, RANK_SIDE // 2
# The delta's step is searched on a centre crop at most this big (see FIRST_STEP_EXPONENT)
STEP_SEARCH_SIDE = 128
FIT_PIXELS = 1 << 16        # pixels sampled for fitting a delta on the full batch (the last layer)
# The every-layer fit takes minibatches, so the pixels it samples from cost only their features:
# on 7 768x512 validation photos and 15 illustration crops (scripts/fit_pixels.py), every
# pixel instead of 2^16 took 0.46% and 0.36% off (2^18: 0.39% and 0.24%), for about 5% more
# encoding time. ber0 keeps FIT_PIXELS: it checks every sampled pixel's decisions.
MINIBATCH_FIT_PIXELS = 1 << 19
# Efforts 1 and 2 fit a delta only from 2^18 pixels. linr 0.4 fitted from 48x48 (below it a
# delta rarely paid for its bytes on MNIST/Fashion-MNIST training images); with format 5's mixing:
# on 6 128x128 validation crops the fit took only 0.32% off (8.610 -> 8.583 bpp)
# for 8x the encoding time (scripts/rate_check.py, effort 0 vs 2), while on
# 768x512 crops it still takes 3.0% off (8.008 -> 7.770). Effort 0 never fits,
# efforts 3 and up fit whatever the size, as before.
FIT_FROM_PIXELS = {1: 1 << 18, 2: 1 << 18}
# From this many pixels efforts 2 and 3 take effort 4's steps and fit every layer
# (linr 0.3.0, last layer only: effort 4's steps took 0.75% off 768x512
# validation photos for 1.4x the time). Smaller images keep effort 2's steps:
# on 128x128 crops effort 3 took 0.3% for 1.5x the time, past their budget.
BIG_IMAGE_PIXELS = 1 << 18
BIG_IMAGE_EFFORT = 4
# Quantisation-aware training from effort 2: with the coarser steps below, on 16
# 128x128 validation crops it took 0.41% off for 1.12x the encoding time.
QAT_EFFORT = 2
# QAT takes a third of the fit's steps, or a sixth after the every-layer fit from a prior
# (minibatches of PRIOR_FIT_BATCH): on the 7 768x512 validation photos and 15 illustrations
# (effort 2) a sixth gave -0.03% and -0.02% in 0.89x and 0.84x the encoding time, a
# twelfth +0.18% and +0.09%.
QAT_STEP_DIVISOR, PRIOR_QAT_STEP_DIVISOR = 3, 6
# The delta's quantisation step 2^-e: the search starts at e = 5 and goes downhill.
# On 128x128 validation crops the fitted last layer mostly settles at e = 4 (the
# old fixed grid 5, 7, ..., 13 always took its coarsest, 5, and cost 0.16% more).
FIRST_STEP_EXPONENT = 5
# With QAT (from QAT_EFFORT) the search measures on a smaller crop (STEP_SEARCH_SIDE), and
# the step it finds, with and without QAT, is measured on the ranking crop side by side
# (kodim05's command: 2 walks of 128x128 and one round of 2 of 192x192 instead of 2 rounds and
# a walk of 192x192).
# On 22 768x512 photo crops (training and validation, both colour orders) and 9
# illustrations the 128x128 crop found the 192x192 crop's best step on 32 of 36 fits, and
# the others cost 0.006-0.17% of the crop's bits.
MIN_STEP_EXPONENT, MAX_STEP_EXPONENT = 1, 13
# Rate-aware fitting: an L1 penalty of DELTA_L1_BITS bits per step of 2^-L1_STEP_EXPONENT
# keeps the delta sparse. On 16 128x128 validation crops (with QAT and the step search)
# 0.5 bits took 0.14% off, 2 bits 0.42%, 8 bits 0.56%, 16 bits 0.43%.
DELTA_L1_BITS = 8.0
L1_STEP_EXPONENT = 4
# Fitting every layer (images of BIG_IMAGE_PIXELS or more, effort >= 5, seeded
# networks) takes minibatches of this many rows: on 768x512 validation photos that
# fit replaces the last layer's and takes 1.6% off, in about the same time.
FIT_BATCH = 8192
# A prior's network, fitted on more rows than FIT_BATCH, takes smaller minibatches and
# more of them. On 7 768x512 validation photos and 15 768x512 illustration crops
# (effort 2, scripts/fit_batch.py), 1536 rows and 2.5x the steps took 0.26% and 0.22%
# off for 17% and 25% less encoding CPU than 8192 rows (1024 x 3: 0.31% / 0.07%;
# 2048 x 2: 0.12% / 0.29%). A seeded network (32 wide) costs per step more than per
# row: 2.5x the steps took it 1.8x the time for 0.08%, so it keeps FIT_BATCH.
# The steps are a smooth trade (linr 0.8.1, the 7 validation photos): half of them +0.27% for
# 0.78x the encoding time, 1.5x -0.18% for 1.34x; a cosine-decayed rate +0.53%.
PRIOR_FIT_BATCH, PRIOR_FIT_STEPS = 1536, 2.5
# Adam's rate for a delta on a prior, and on a seeded network
PRIOR_FIT_LR, SEEDED_FIT_LR = 1e-3, 3e-3
# a relu16 prior's, whose activations are rounded in every step (network.FloatNet): on the 7
# 768x512 validation photos fitted from photo-7, 2e-3 took 0.20% less than 1e-3 (3 of them,
# the weights rounded too: 0.5e-3, 1e-3, 2e-3, 3e-3, 4e-3 gave +0.03, 0, -0.16, -0.08, +0.11%)
NARROW_FIT_LR = 2e-3
# On colour images the every-layer fit starts from the built-in prior that was trained most
# (samples seen, then rows) among those ranked within this fraction of the cheapest: the
# ranking measures a crop before any fit, and a prior trained longer fits further. On 7
# 768x512 validation photos `photo-3` fitted came out smallest on all 7, where the ranking
# had chosen another prior for 4 of them (ranked up to 2.2% dearer): -0.31% in all, and
# -0.07% on 15 illustrations, none larger (scripts/fit_start.py). `photo-5` (photo-3's rows,
# four times the steps) fits 0.55% further than photo-3 on both sets.
FIT_START_MARGIN = 0.03
# The encoder keeps up to this many decisions (3 bytes each: 96 MiB) between its
# forward walk and writing them backwards; above it, it keeps the adaptive tables
# at each chunk's start and computes each chunk again.
KEEP_DECISIONS = 1 << 25


@dataclass
class Plan:
    header: Header
    base: list
    delta: Delta = field(default_factory=Delta)
    bits: float = 0.0       # estimated payload bits (delta + residual) of the whole image
    label: str = ""
    shortlist_bits: float = 0.0     # the same, estimated from the shortlist's crop (Encoder.rank)
    step: int = 0                   # Encoder.best_step: the delta's step exponent


def centre_crop(img3: np.ndarray, side: int) -> np.ndarray:
    h, w = img3.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return img3[y:y + side, x:x + side]


class Encoder:
    """The search for one coded image. With `palette`, `image` is its index image
    (palette.build) and the file gets a P chunk. `order` is the file's colour
    order; `swapped`, that the array has R and B the other way round from it.
    The network models B, G, R (, A)."""

    def __init__(self, image: np.ndarray, *, effort: int, prior, mode: str, seed: int, device: str,
                 overrides: dict, order: str, progress: bool, palette=None, swapped: bool = False,
                 backend=COMPILED, group_size=None, offset=None, values=None, output=None, copies=None,
                 filter=None):
        h, w = image.shape[:2]
        c = 1 if image.ndim == 2 else image.shape[2]
        bits = max(1, int(image.max()).bit_length())
        self.info = ImageInfo(h, w, c, bits, image.dtype == np.uint16, image.ndim == 2, order,
                              offset is not None, offset or 0)     # offset: a signed image's (codec)
        self.image = image
        self.swapped = swapped
        self.backend = backend              # the decision backend (tests: oracle.ORACLE)
        img3 = (image[:, :, None] if image.ndim == 2 else image).astype(np.uint16)
        self.img3 = swap_rb_in_place(img3) if order == "rgb" and not swapped else img3
        self.const = constant_planes(self.img3, bits)
        self.geom = Geometry(h, w, c, bits)
        self.big = h * w >= BIG_IMAGE_PIXELS
        self.effort, self.mode, self.seed, self.device = effort, mode, seed, device
        self.prior_choice, self.overrides, self.progress = prior, overrides, progress
        self.palette = palette
        # with value tables (values.build), `image` holds indices and `output` the image itself
        self.values, self.output = values, output
        self.values_chunk = values.pack() if values is not None else b""
        self.copies = copies                # gray.py: the output's channel count, the image its gray
        self.filter = filter                # filters.py: the image (and `output`) are its residuals
        self.group_size = (default_size(h, w, bits) if group_size is None
                           else size_of(group_size))
        self._ranked = None
        self._plans, self._shortlisting = None, False      # shortlisted()
        crop = centre_crop(self.img3, RANK_SIDE)
        self.crop = crop
        self.crop_scale = self.scale(crop)
        self.short_crop = centre_crop(self.img3, SHORTLIST_SIDE)
        self._short_walks = {}      # label -> its plan's walk_cost of short_crop (rank)
        self.search_crop = centre_crop(self.img3, STEP_SEARCH_SIDE)

    # -- candidates -------------------------------------------------------------
    def starts(self) -> list:
        info, choice = self.info, self.prior_choice
        found = []
        if isinstance(choice, str) and choice in ("auto", "none"):
            if choice == "auto" and not self.overrides and self.mode != "ber0":
                # the built-in priors, then those on the search path (a tie keeps the first)
                found = [p for p in priors.available() + priors.on_path()
                         if p.cfg.channels == info.channels and p.name not in priors.SUPERSEDED]
        else:
            p = priors.load(choice)
            if p.cfg.channels != info.channels:
                raise LinrError(f"prior '{p.name}' is for {p.cfg.channels}-channel images, "
                                f"this image has {info.channels}")
            found = [p]
        starts = [Plan(Header(info, p.cfg, p.tag, builtin=priors.builtin_number(p)), list(p.weights),
                       label=p.name) for p in found]
        # how much each built-in colour prior trained at this bit depth was trained (fit_start;
        # measured on colour images only)
        self.training = {p.name: (p.meta.get("samples", p.meta.get("steps", 0) * p.meta.get("batch", 0)),
                                  p.meta.get("rows", 0))
                         for p in found if priors.builtin_number(p) is not None and info.channels == 3
                         and info.bits in p.meta.get("bits", [])}
        # auto ranks the seeded network too for 2 and 4 channels when no prior was trained at
        # the image's bit depth (a prior's meta lists its training depths): the 8-bit RGBA and
        # gray + alpha priors lose to it on 16-bit images. (Gray and RGB keep ranking their
        # priors alone, as linr 0.5.0 did: their released vectors stay reproducible.)
        unfamiliar = (choice == "auto" and info.channels in (2, 4)
                      and not any(info.bits in p.meta.get("bits", [info.bits]) for p in found))
        if not starts or unfamiliar:
            cfg = NetConfig(channels=info.channels, **{"hidden": 32, "layers": 2, "activation": "relu",
                                                        **self.overrides})
            starts.append(Plan(Header(info, cfg, SEEDED, self.seed), seeded_init(cfg, self.seed),
                               label="seeded"))
        self.given_priors = found
        return starts

    def walk_cost(self, cfg: NetConfig, weights: list, crop) -> float:
        """Code length (bits) of a crop's decisions."""
        sink = CostSink(crop)
        walk(Geometry(*crop.shape[:2], self.info.channels, self.info.bits), cfg, weights,
             self.const, sink, self.backend, known=crop, workers=1)
        return sink.cost

    def crop_cost(self, cfg: NetConfig, weights: list, crop=None) -> float:
        """Code length (bits) of a centre crop's decisions (default: the ranking crop's),
        scaled to the whole image."""
        crop = self.crop if crop is None else crop
        return self.walk_cost(cfg, weights, crop) * self.scale(crop)

    def scale(self, crop) -> float:
        """The image's pixels over the crop's."""
        return self.info.height * self.info.width / (crop.shape[0] * crop.shape[1])

    def estimated_bits(self) -> float:
        """The whole file's bits under the ranked plan, besides the header: its code length split
        into a part per image (what the adaptive state learns once, such as which values occur)
        and a part per pixel, from the ranking's crop and a crop of half its side, plus the side
        chunk. Scaling one crop's cost would scale the first part too: it made sparse 16-bit
        images take value tables that cost more than the counters' learning."""
        best = self.rank()
        if self.crop_scale == 1:
            return best.bits + self.side_bits()
        # the smaller crop is the shortlist's (half the ranking crop's side), which the ranking
        # may have walked under this plan already
        half = self.short_crop
        big_px, half_px = self.crop.shape[0] * self.crop.shape[1], half.shape[0] * half.shape[1]
        small = self._short_walks.get(best.label)
        if small is None:
            small = self.walk_cost(best.header.cfg, best.base, half)
        big = best.bits / self.crop_scale
        per_pixel = max(0.0, (big - small) / (big_px - half_px))
        once = max(0.0, big - per_pixel * big_px)
        return once + per_pixel * self.info.height * self.info.width + self.side_bits()

    def side_bits(self) -> int:
        """Bits of the file that do not depend on the plan: the palette or value table chunk, and
        the filter chunk."""
        bits = 0 if self.filter is None else 8 * (len(self.filter.pack()) + container.CHUNK_FRAMING_BYTES)
        if self.palette is not None:
            return bits + 8 * (len(self.palette.pack()) + container.CHUNK_FRAMING_BYTES)
        if self.values is not None:
            return bits + 8 * (len(self.values_chunk) + container.CHUNK_FRAMING_BYTES)
        return bits

    def shortlisted(self) -> bool:
        """Every candidate's cost on the shortlist's crop (once, kept in shortlist_bits); False
        when there are SHORTLIST candidates or fewer, or the image is no larger than that crop:
        rank() then measures every candidate on the ranking crop alone."""
        if self._plans is None:
            plans = self.starts()
            self._shortlisting = len(plans) > SHORTLIST and self.short_crop.size < self.crop.size
            if self._shortlisting:
                for p, bits in zip(plans, self._costs(plans, self.short_crop)):
                    self._short_walks[p.label] = bits
                    p.shortlist_bits = bits * self.scale(self.short_crop)
            self._plans = plans
        return self._shortlisting

    def rank(self) -> Plan:
        """The cheapest start (a prior, or the seeded network) by its measured cost: every
        candidate's on the shortlist's crop, then the shortlist's on the ranking crop."""
        if self._ranked is None:
            shortlisting = self.shortlisted()
            plans = self._plans
            if shortlisting:
                plans = sorted(plans, key=lambda p: self.ranked_bits(p, shortlisted=True))[:SHORTLIST]
            for p, bits in zip(plans, self._costs(plans, self.crop)):
                p.bits = bits * self.crop_scale
                if not shortlisting:
                    p.shortlist_bits = p.bits
            self._ranked = min(plans, key=self.ranked_bits)
        return self._ranked

    def _costs(self, plans: list, crop) -> list:
        """Each plan's walk_cost of the crop. Each crop walk is one thread (the crop is below
        the walker's CHUNK): the candidates take the cores side by side, unless the crop is
        too small to pay for the threads (MNIST: 31 against 42 encoded a second)."""
        cost = lambda p: self.walk_cost(p.header.cfg, p.base, crop)          # noqa: E731
        side_by_side = crop.shape[0] * crop.shape[1] >= PARALLEL_RANK_PIXELS
        return threads.map_ordered(cost, plans) if side_by_side else [cost(p) for p in plans]

    @staticmethod
    def ranked_bits(p: Plan, shortlisted: bool = False) -> float:
        # the header's bytes too: a seeded network's seed costs bytes a prior's number does not
        return (p.shortlist_bits if shortlisted else p.bits) + 8 * len(p.header.pack())

    def fit_start(self) -> Plan:
        """The start of an every-layer fit: the built-in prior trained most among those
        ranked within FIT_START_MARGIN of the cheapest, when that is a built-in prior."""
        if not self.shortlist_starts_the_fit():
            best = self.rank()
            if best.label not in self.training:
                return best
        # on the crop every candidate was measured on (the shortlist's, when there was one)
        cheapest = min(self.ranked_bits(p, shortlisted=True) for p in self._plans)
        near = [p for p in self._plans if p.label in self.training
                and self.ranked_bits(p, shortlisted=True) <= cheapest * (1 + FIT_START_MARGIN)]
        return max(near, key=lambda p: self.training[p.label])

    def shortlist_starts_the_fit(self) -> bool:
        """Whether the shortlist's crop alone picks the fit's start: when every candidate is a
        built-in prior trained at the image's depth, the start is one of them whichever the
        ranking crop would rank first (fit_start)."""
        return self.shortlisted() and all(p.label in self.training for p in self._plans)

    def may_fit(self) -> bool:
        """Whether run() will fit a delta whatever the ranking finds (it may also fit a seeded
        network on a smaller image)."""
        return (self.effort > 0 and not (self.const >= 0).all()
                and self.info.height * self.info.width >= FIT_FROM_PIXELS.get(self.effort, 0))

    def run(self) -> Plan:
        if self.fit_skips_the_ranking():
            start = self.fit_start()
            fitted = self.fit(start, list(range(len(start.base))), f"{start.label}+all", guarded=True)
            # a delta that did not pay on the shortlist's crop: the ranking's best, bare
            return fitted if fitted.delta.tensors else self.rank()
        best = self.rank()
        plans = [best]
        small = self.info.height * self.info.width < FIT_FROM_PIXELS.get(self.effort, 0) \
            and best.header.prior != SEEDED and self.mode != "ber0"
        if self.effort > 0 and not (self.const >= 0).all() and not small \
                and (not self.fit_needs_torch(best.header.cfg) or torch_available()):
            n = len(best.base)
            last, every = ("last", [n - 2, n - 1]), ("all", list(range(n)))
            if self.mode == "ber0" or best.header.prior == SEEDED or self.effort >= 5:
                subsets = [last, every]
            elif self.big:
                subsets = [every]
            else:
                subsets = [last]
            for name, tensors in subsets:
                start = self.fit_start() if name == "all" and self.mode != "ber0" else best
                plans.append(self.fit(start, tensors, f"{start.label}+{name}"))
        return min(plans, key=lambda p: p.bits)

    def fit_skips_the_ranking(self) -> bool:
        """The default every-layer fit of a large colour image (efforts QAT_EFFORT to 4) starts
        from the shortlist (shortlist_starts_the_fit) and walks no ranking crop: the QAT delta is
        kept, checked against the bare start on the shortlist's crop (_fit's `guarded`).
        kodim05: four 192x192 walks fewer, one 96x96 more."""
        return (QAT_EFFORT <= self.effort < 5 and self.big and self.mode != "ber0"
                and not (self.const >= 0).all() and self.shortlist_starts_the_fit()
                and (not self.fit_needs_torch(self.fit_start().header.cfg) or torch_available()))

    # -- fitting a delta ---------------------------------------------------------
    def fit(self, start: Plan, tensors: list, label: str, guarded: bool = False) -> Plan:
        h, w = self.info.height, self.info.width
        rng = np.random.default_rng(self.seed)
        pixels = MINIBATCH_FIT_PIXELS if len(tensors) > 2 and self.mode != "ber0" else FIT_PIXELS
        rows = image_rows(self.img3, self.info.bits, min(1.0, pixels / (h * w)), rng, self.backend)
        if not self.fit_needs_torch(start.header.cfg):
            with threads.one_blas_thread():         # the fit's products are small (and the bytes
                return self._fit(start, tensors, label, cpu_fit.CpuFitter(rows), guarded)   # the same on any budget)
        if not torch_available():     # run() checked the ranked start; fit_start() may be another
            return start
        from .fitting import TorchFitter, pick_device, torch_state
        dev = pick_device(self.device)
        # One torch thread unless the caller chose a budget: the fits are small, a second
        # thread took 10% off idle (256x256 16-bit: 5.6 -> 5.1 s) but made the command 7x
        # slower beside two busy processes (9.3 -> 64 s; scripts/cli_speed.py), same bytes.
        fit_threads = 1 if len(rows[0]) < 1 << 14 else (threads.chosen() or 1)
        fitter = TorchFitter(rows, dev)
        del rows                                   # the tensors are what the fit reads
        with torch_state(self.seed, fit_threads):
            return self._fit(start, tensors, label, fitter, guarded)

    def may_need_torch(self) -> bool:
        """Whether a fit of this encoder may need torch before its candidates are known (the
        command starts importing it while they are ranked)."""
        return self.may_fit() and (self._torch_asked() or self.overrides.get("activation", "relu") == "sine")

    def fit_needs_torch(self, cfg) -> bool:
        """torch fits what the CPU fit (cpu_fit.py) does not run: sine networks, the paper's
        ber0 (it stops on the bit errors) and a fit asked of CUDA."""
        return not cpu_fit.supports(cfg) or self._torch_asked()

    def _torch_asked(self) -> bool:
        return self.mode == "ber0" or self.device == "cuda"

    def _fit(self, start: Plan, tensors: list, label: str, fitter, guarded: bool = False) -> Plan:
        """The fitted plan from `start`. `guarded` (fit_skips_the_ranking; with QAT): the QAT
        delta, measured on the shortlist's crop only, and the bare start returned when it costs
        no less there."""
        cfg = start.header.cfg
        h, w = self.info.height, self.info.width
        net = fitter.net(cfg, start.base)
        seeded = start.header.prior == SEEDED
        effort = fit_effort(self.effort, self.big)
        steps = (60 if seeded else 25) * (1 + effort) * (2 if self.mode == "ber0" else 1)
        lr = SEEDED_FIT_LR if seeded else NARROW_FIT_LR if cfg.narrow else PRIOR_FIT_LR
        # the price of the delta's bytes in the loss, which is bits per pixel
        # (ber0 asks for no wrong decision whatever the delta costs)
        l1 = 0.0 if self.mode == "ber0" else DELTA_L1_BITS * 2.0 ** L1_STEP_EXPONENT / (h * w)
        batch = FIT_BATCH if len(tensors) > 2 else 0       # the last layer alone: full batch
        if batch and not seeded and fitter.rows > FIT_BATCH:
            batch, steps = PRIOR_FIT_BATCH, int(steps * PRIOR_FIT_STEPS)
        fitter.train(net, steps, trainable=tensors, lr=lr, seed=self.seed, batch=batch, l1=l1,
                     progress=self.progress, desc=f"fit {label}", until_ber0=self.mode == "ber0")
        if effort < QAT_EFFORT:
            return self.best_step(start, net, tensors, label, fitter)
        # the search on its own crop where that is the smaller, its step then measured (with
        # and without QAT) on the ranking crop
        short = self.search_crop if self.search_crop.size < self.crop.size else None
        found = self.best_step(start, net, tensors, label, fitter, short)
        exps = {i: found.step for i in tensors}     # tensors all zero at that step included
        plans, deltas = ([found], []) if short is None else ([], [(found.delta, label)])
        if found.delta.tensors:
            fitter.quantise(net, exps)
            divisor = PRIOR_QAT_STEP_DIVISOR if batch == PRIOR_FIT_BATCH else QAT_STEP_DIVISOR
            fitter.train(net, max(20, steps // divisor), trainable=tensors, lr=lr / 3, seed=self.seed + 1,
                         batch=batch, l1=l1)
            fitter.quantise(net, None)
            deltas.append((self.quantised_delta(start, fitter, net, exps), label + "+qat"))
        if guarded:
            # QAT's delta, not measured against the find's: as whole files it was the smaller in
            # 36 of 37 fits of 768x512 photos and illustrations (+0.017% in the other; scripts/
            # shortlist_lab.py qat), and on a 6000x4000 photograph the 128x128 crop would have
            # chosen the find, 1.05% larger
            delta, name = deltas[-1] if deltas else (found.delta, label)
            plan = self.measured(start, delta, name, self.short_crop)
            bare = self._short_walks[start.label] * self.scale(self.short_crop)
            return plan if plan.bits < bare else dataclasses.replace(start, delta=Delta())
        plans += threads.map_ordered(lambda d: self.measured(start, *d), deltas)
        return min(plans, key=lambda p: p.bits)

    @staticmethod
    def top_step_exponent(start: Plan) -> int:
        from .tables import NARROW_WEIGHT_BITS
        # a relu16 network's base + delta stays on its 2**-8 grid
        return NARROW_WEIGHT_BITS if start.header.cfg.narrow else MAX_STEP_EXPONENT

    def best_step(self, start: Plan, net, tensors, label: str, fitter, crop=None) -> Plan:
        """Quantise the delta with step 2^-e, e searched downhill from FIRST_STEP_EXPONENT
        (one exponent for all fitted tensors): the coded size is about unimodal in e. Each
        measurement is one walk of `crop` (default: the ranking crop): a missing one is taken
        with the next one the search may ask for, side by side on the thread budget (the
        same choice either way). The plan's `step` is the e found."""
        plans = {}

        def at(e, move):
            if e not in plans:
                todo = [x for x in (e, e + move) if MIN_STEP_EXPONENT <= x <= top
                        and x not in plans][:max(1, threads.budget())]
                found = threads.map_ordered(lambda x: self.measured(
                    start, self.quantised_delta(start, fitter, net, {i: x for i in tensors}), label, crop), todo)
                plans.update(zip(todo, found))
            return plans[e].bits
        top = self.top_step_exponent(start)
        e = min(FIRST_STEP_EXPONENT, top)
        for move in (-1, 1):
            while MIN_STEP_EXPONENT <= e + move <= top:
                here = at(e, move)
                if at(e + move, move) >= here:
                    break
                e += move
        plans[e].step = e
        return plans[e]

    def quantised_delta(self, start: Plan, fitter, net, exps: dict) -> Delta:
        """The fitted delta of each tensor in exps rounded to its step 2^-e, within the
        weights' range."""
        from .entropy import MAX_INT_BITS
        from .exact import NARROW_WEIGHT_LIMIT, WEIGHT_LIMIT
        from .tables import WEIGHT_BITS
        delta = Delta()
        for i, e in exps.items():
            d = fitter.delta(net, i)
            top = NARROW_WEIGHT_LIMIT if start.header.cfg.narrow and i % 2 == 0 else WEIGHT_LIMIT
            limit = np.minimum((top - 1 - np.abs(start.base[i])) >> (WEIGHT_BITS - e),
                               (1 << (MAX_INT_BITS + 1)) - 1)
            q = np.clip(np.round(d * (1 << e)).astype(np.int64), -limit, limit)
            if q.any():
                delta.tensors[i] = (e, q)
        return delta

    def measured(self, start: Plan, delta: Delta, label: str, crop=None) -> Plan:
        """The plan start + delta, its bits measured on `crop` (default: the ranking crop)."""
        bits = self.crop_cost(start.header.cfg, delta.apply(start.base), crop) + delta.cost_bits()
        return Plan(start.header, start.base, delta, bits, label)


def fit_effort(effort: int, big: bool) -> int:
    """The effort a fit's steps (and QAT) follow: on images of BIG_IMAGE_PIXELS or more, efforts
    2 and 3 fit as BIG_IMAGE_EFFORT does (before linr 0.5.3 effort 3 took its own 100 steps
    there, fewer than the default's 125)."""
    if not big or effort < 2:
        return effort
    return BIG_IMAGE_EFFORT if effort == 2 else max(effort, BIG_IMAGE_EFFORT)


FIT_NEEDS_TORCH = ("torch is not installed: no weight delta fitted (--mode ber0, --device cuda and "
                   "sine priors fit with torch); pip install 'linr[fit]'")


def torch_available() -> bool:
    """Whether torch imports (it is optional: `pip install 'linr[fit]'`); warns once when not."""
    if _TORCH["available"] is None:
        try:
            import torch  # noqa: F401
            _TORCH["available"] = True
        except ImportError:
            _TORCH["available"] = False
    if not _TORCH["available"]:
        warnings.warn(FIT_NEEDS_TORCH, stacklevel=3)
    return _TORCH["available"]


_TORCH = {"available": None}


def prefetch_torch() -> None:
    """Start importing torch and the fitting modules in a background thread: about 1 s of
    a command's start-up, spent while the priors are ranked (their walks release the GIL).
    torch_available() and the fit's imports wait for it; a failed import is retried there."""
    if _TORCH["available"] is not None or "torch" in sys.modules:
        return

    def load():
        try:
            from . import fitting, network  # noqa: F401
        except Exception:       # ImportError (no torch) or anything torch raises: reported later
            pass
    threading.Thread(target=load, name="linr-import-torch", daemon=True).start()


def write(plan: Plan, enc: Encoder, ancillary=()) -> bytes:
    """Code a plan into a complete .linr file (every bit, in the walker's order)."""
    # the pixel hash covers the output image: the signed samples, after the tables or the palette,
    # the filter and the gray copies
    out, info, swapped = enc.image, enc.info, enc.swapped
    if enc.info.signed:
        out = (enc.image - enc.image.dtype.type(enc.info.offset)).view(enc.info.dtype)
    elif enc.values is not None:
        out = enc.output
    elif enc.palette is not None:
        out, info = enc.palette.apply(enc.image), enc.palette.output_info(enc.info.height, enc.info.width)
        swapped = False
    if enc.filter is not None:
        out = enc.filter.undo(out)
    if enc.copies is not None:
        out, info = gray.expand(out, enc.copies), gray.output_info(info, enc.copies)
    pixels = pixel_hash(out, info, swapped=swapped)
    header = dataclasses.replace(plan.header, pixels=pixels, group_size=enc.group_size)
    weights = plan.delta.apply(plan.base)
    parts = stream_plan(plan.delta.tensors, enc.info.height, enc.info.width, enc.group_size)
    # the groups' streams are independent: a group a thread, each walk without helpers (as
    # the decoder reads them); a single group keeps the walker's helpers instead
    groups = sum(part.group is not None for part in parts)
    side_by_side = min(threads.budget(), groups)
    workers = 1 if side_by_side > 1 else None

    def code(part) -> bytes:
        # ANS codes last-decoded first: each stream's segments, backwards
        img3 = np.ascontiguousarray(part.group.region(enc.img3)) if part.group is not None else None
        geom = None if img3 is None else Geometry(*img3.shape, enc.info.bits)
        const = None if img3 is None else constant_planes(img3, enc.info.bits)
        stream = BackwardWriter()
        for seg in reversed(part.segments):
            if seg.kind == DELTA:
                q = plan.delta.tensors[seg.tensor][1]
                stream.push(int_decisions(q, *int_params(q)))
            elif seg.kind == PIXELS:
                write_pixels(img3, geom, const, header.cfg, weights, stream, enc.backend, workers)
            else:
                sink = ImageSink(img3)
                walk_constants(const, geom, sink) if seg.kind == FLAGS else walk_terminator(sink)
                stream.push(sink.parts)
        return stream.finish()
    if side_by_side > 1:
        with threads.one_blas_thread():
            streams = threads.map_ordered(code, parts)
    else:
        streams = [code(part) for part in parts]
    chunks = [(container.HEADER, header.pack())]
    if enc.palette is not None:
        chunks.append((container.PALETTE, enc.palette.pack()))
    if enc.values is not None:
        chunks.append((container.VALUES, enc.values_chunk))
    if enc.copies is not None:
        chunks.append((container.GRAY, gray.pack(enc.copies)))
    if enc.filter is not None:
        chunks.append((container.FILTER, enc.filter.pack()))
    if plan.delta.tensors:
        chunks.append((container.DELTA, plan.delta.pack()))
    chunks.append((container.DATA, pack_streams(streams)))
    data = container.write(chunks + list(ancillary))
    need = min_file_bytes(enc.info.height * enc.info.width, header.cfg)
    if (enc.const < 0).any() and len(data) < need:
        # the work bound: pad (ancillary `p` chunk of zeros) an image that codes to almost nothing
        pad = max(0, need - len(data) - 10)            # the chunk's framing takes 6 to 10 bytes
        while len(data) < need:
            data = container.write(chunks + list(ancillary) + [(PADDING, bytes(pad))])
            pad += 1
    return data


def write_pixels(img3: np.ndarray, geom: Geometry, const: np.ndarray, cfg: NetConfig, weights: list,
                 stream: BackwardWriter, backend, workers=None) -> None:
    """A group's pixel decisions, pushed last-decoded first. The learning state a
    chunk starts from depends on every chunk before it, so the walk goes forward
    first: it keeps every decision when they fit in KEEP_DECISIONS, else the
    state at each chunk's start, from which each chunk is computed again, last
    chunk first (memory holds one chunk's decisions, not the group's)."""
    if coded_decisions(geom, const) <= KEEP_DECISIONS:
        sink = ImageSink(img3)
        walk(geom, cfg, weights, const, sink, backend, known=img3, workers=workers)
        stream.push(sink.parts)
        return
    weights = exact.prepare(weights, cfg)         # once for the forward walk and every replay
    tables = TableSink(img3)
    walk(geom, cfg, weights, const, tables, backend, known=img3, workers=workers)
    for p, start, learner in reversed(tables.starts):
        sink = ImageSink(img3)
        walk_chunk(geom, cfg, weights, const, img3, p, start, learner, sink, backend)
        stream.push(sink.parts)


def check_round_trip(image: np.ndarray, back: np.ndarray) -> None:
    if back.shape != image.shape or back.dtype != image.dtype or not np.array_equal(back, image):
        raise VerificationError("internal error: the encoded file does not decode to the input "
                                "(please report this bug)")
