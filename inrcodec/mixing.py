"""Context mixing of the network's bit probabilities (format 5).

For every coded decision the coder's probability is a logistic mix of the
network's probability and four adaptive counters, each read in a context of
what the decoder already knows (formats/linr.md, "Mixing"):

  prefix    the value's bits already decided (a node of the channel's binary tree);
  anchor    where the mean of the 4 nearest neighbours falls against the
            plane's midpoint, and the local activity;
  channel   the same for a predictor corrected by the earlier channels'
            errors at this pixel;
  texture   which nearest neighbours lie above their mean, and the pass kind.

The mixer has one weight set per (channel, plane), learnt after every decision
with a rate that decays as the set sees more. Format 8 keeps four weight sets
per (channel, plane), chosen by the pixel's activity, and refines the mix with
two SSE stages (secondary estimation, as paq8's APM): tables of counters along
the mix's stretched probability, one row per activity and one per anchor
bucket, read between two knots and averaged with the mix. Format 9 adds a fifth counter,
the match counter: for each of the 4 nearest neighbours, whether its bits above the plane
agree with the value's prefix and if so its bit on the plane (match_context), so a value
that repeats a neighbour's (an image scaled up by repeating pixels, flat areas, pixel art)
is learnt exactly. Format 11 adds a second mixer of the same inputs, whose weight set is chosen
by the network's confidence and how many of the 4 nearest neighbours agree with the value so
far, and a final mixer of the two (2 weights a plane, starting as the first mixer alone); and
it does not learn from a decision coded at the clamp (k = K_MIN or K_MAX) whose bit is the
expected one: the mix lies past the clamp already, and learning only drove it further, to be
paid for at the next surprise (the decision is settled). Format 13 (`fine`) clamps the network's
and the coded k to [FINE_K_MIN, FINE_K_MAX] = [8, 65528] instead of [64, 65472], and settles a
decision at that clamp: on validation images 4e-5 to 1.2e-4 of the decisions coded at the old
clamp came out other than expected, 8 to 25 times fewer than 2^-10, yet each paid 2^-10 / ln 2
bit. Everything is integer, updated
identically by encoder and decoder, and costs no header byte. The network's
weight starts at 1 and the others at 0, so an image starts out coded as by
the network alone. This replaces format 3-4's per-batch tables (adapt.py).

The tables are integer functions of the format's logistic CDF table
(tables.cdf_table): no libm, the same on every machine.

Measured (scripts/mixing_lab.md, validation data, effort 0): 1.9-3.6% smaller
than format 4 on photographs, 6% on MNIST, 37% on a sparse 16-bit map. Format 8's
sets and SSE against format 7 (effort 0, validation data: README, "What each change
bought"): 768x512 photographs -0.46%, illustrations -1.00%, 16-bit gray -0.17%, 128x128
photographs -0.18%, MNIST -0.11%. Format 11's two mixers and settled decisions against format
10 (the pixel decisions' code length, effort 0's prior, validation data: scripts/online_lab.md,
section 6): 768x512 photographs -0.22%, illustrations -0.90%, 16-bit gray -0.19%, MNIST -0.12%,
128x128 photographs -0.02%. Format 13's clamp against format 12 (the same measure,
scripts/online_lab.md section 9): 768x512 photographs -0.16%, illustrations -0.48%, 16-bit gray
-0.09%, MNIST -0.54%, 128x128 photographs -0.13%.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .tables import CDF_SIZE, PROB_BITS, cdf_table

ST_LIMIT = 3071                 # stretch domain: 1/256 nat units, |x| <= ST_LIMIT
INPUTS = 7                      # prefix, anchor, channel, texture counters; network; bias; match
NET_INPUT, BIAS_INPUT, MATCH_INPUT = 4, 5, 6     # formats 5-8 have no match counter: its input is 0
BIAS = 256
WEIGHT_BITS = 16                # mixer weights: 2**16 = 1
WEIGHT_LIMIT = 1 << 24
NET_WEIGHT = 1 << WEIGHT_BITS   # the network's starting weight: the mix starts as the network
ERROR_SHIFT = 22                # w += x * err >> ERROR_SHIFT
RATE_LO, RATE_HI, RATE_HALF = 48, 192, 1 << 16   # lr(u) = lo + (hi - lo) * H // (H + u)
COUNTER_BITS = 22               # a counter's probability of a 1: 2**22 = certain
COUNT_MAX = 255                 # a counter remembers at most this many decisions
COUNTER_START = (1 << (COUNTER_BITS - 1)) << 8     # p = 1/2, n = 0
# context cells per (channel, plane): anchor 63 x 16, channel 63 x 25 x 8, texture 17 x 16 x 3
ANCHOR_CELLS = 63 * 16
CHANNEL_CELLS = 63 * 200
TEXTURE_CELLS = 17 * 48
PLANE_CELLS = ANCHOR_CELLS + CHANNEL_CELLS + TEXTURE_CELLS
GRID_ACTIVITY = 15              # a grid-pass pixel's activity bucket (it has no neighbours)
# format 8: weight sets per (channel, plane), chosen by activity >> 2; SSE rows of knots at
# stretch -3072, -2816, ..., 3072 (one per 256): rows 0..15 by activity, 16..30 by the anchor's
# bucket qs(a - mid, 7) + 7. An SSE knot is a counter. Each row learns only at the knot nearer
# the mix (both knots: 0.14% more on the 768x512 validation photos, and slower); a count limit of 127
# instead of the counters' 255 gave the same within 0.02%. A knot starts as if it had seen
# SSE_START_COUNT decisions, so that its first ones do not move it all the way: with 0, MNIST
# came out 0.46% larger and the 128x128 photos 0.08%; 8 gave the validation sets the same as 3
# within 0.03% and PngSuite 0.6% more.
WEIGHT_SETS = 4
SSE_KNOTS, SSE_ROWS, SSE_START_COUNT = 25, 31, 3
# format 9: the match counter of each (channel, plane), read in the context of the 4 nearest
# neighbours against the value's prefix (match_context) and the pass kind: 3 x 3^4 cells
MATCH_CELLS = 3 * 81
# format 11: the second mixer's weight sets per (channel, plane): the network's confidence
# (|stretch(k)| below 128, 384, 896, or above: 4) x the nearest neighbours agreeing (0..4: 5);
# the final mixer's two weights start at (1, 0) (the first mixer alone) and learn at a fixed rate
SECOND_SETS = 4 * 5
CONFIDENCE_BOUNDS = (128, 384, 896)
FINAL_START = (1 << WEIGHT_BITS, 0)
FINAL_LIMIT = 1 << 18
FINAL_RATE = 48


@lru_cache(maxsize=None)
def squash() -> np.ndarray:
    """squash[x + ST_LIMIT] = 2**16 / (1 + e^(-x/256)) for |x| <= ST_LIMIT, in [1, 2**16 - 1]:
    the mean of the CDF table's two entries around x, (CDF[4095 + x] + CDF[4096 + x]
    + 2**14) >> 15."""
    cdf = cdf_table().astype(np.int64)
    x = np.arange(-ST_LIMIT, ST_LIMIT + 1)
    mid = CDF_SIZE // 2
    out = np.clip((cdf[mid - 1 + x] + cdf[mid + x] + (1 << 14)) >> 15, 1, (1 << PROB_BITS) - 1)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def stretch() -> np.ndarray:
    """stretch[k] for k in [0, 2**16): the smallest x in [-ST_LIMIT, ST_LIMIT] with
    squash(x) >= k, else ST_LIMIT (squash's inverse, as paq8's stretch)."""
    s = squash()
    out = np.minimum(np.searchsorted(s, np.arange(1 << PROB_BITS), side="left"), 2 * ST_LIMIT) - ST_LIMIT
    out = out.astype(np.int64)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def rates() -> np.ndarray:
    """A counter's update rate after n decisions: 2**17 // (2n + 3), about 2**16 / (n + 1.5)."""
    out = (1 << 17) // (2 * np.arange(COUNT_MAX + 1, dtype=np.int64) + 3)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def sse_start() -> np.ndarray:
    """An SSE row as it starts: knot j holds squash(256 j - 3072) (clipped to the stretch
    domain), in counter form (p in 2**-22 units) * 256 + count: the row maps a probability to
    itself, as if it had seen SSE_START_COUNT decisions."""
    knots = np.clip(256 * np.arange(SSE_KNOTS) - (ST_LIMIT + 1), -ST_LIMIT, ST_LIMIT)
    out = ((squash()[knots + ST_LIMIT].astype(np.int32) << (COUNTER_BITS - PROB_BITS)) << 8) + SSE_START_COUNT
    out.flags.writeable = False
    return out


class Mixer:
    """The mixing state of one image (one group of it): counters and weight sets,
    refined (format 8): the weight sets by activity and the SSE rows, matched (format
    9, always refined): the match counters, second (format 11, always matched): the second
    and final mixers, and no learning from a decision settled at the clamp, and fine (format
    13, always second): the clamp at FINE_K_MIN."""

    def __init__(self, channels: int, bits: int, refined: bool = False, matched: bool = False,
                 second: bool = False, fine: bool = False):
        second = second or fine
        matched = matched or second
        refined = refined or matched
        self.channels, self.bits, self.refined, self.matched = channels, bits, refined, matched
        self.second, self.fine = second, fine
        sets = WEIGHT_SETS if refined else 1
        self.prefix = np.full(channels << bits, COUNTER_START, np.int32)     # p * 256 + n < 2**30
        self.cells = np.full(channels * bits * PLANE_CELLS, COUNTER_START, np.int32)
        self.weights = np.zeros((channels * bits * sets, INPUTS), np.int64)
        self.weights[:, NET_INPUT] = NET_WEIGHT
        self.seen = np.zeros(channels * bits, np.int64)    # decisions each (channel, plane) has learnt from
        self.sse = np.tile(sse_start(), channels * bits * SSE_ROWS if refined else 1)
        self.match = np.full(channels * bits * MATCH_CELLS if matched else 1, COUNTER_START, np.int32)
        self.weights2 = np.zeros((channels * bits * SECOND_SETS if second else 1, INPUTS), np.int64)
        self.weights2[:, NET_INPUT] = NET_WEIGHT
        self.final = np.tile(np.array(FINAL_START, np.int64), (channels * bits if second else 1, 1))

    def copy(self) -> "Mixer":
        out = Mixer.__new__(Mixer)
        out.channels, out.bits, out.refined, out.matched = self.channels, self.bits, self.refined, self.matched
        out.second, out.fine = self.second, self.fine
        for name in ("prefix", "cells", "weights", "seen", "sse", "match", "weights2", "final"):
            setattr(out, name, getattr(self, name).copy())
        return out


# -- the per-pixel context, packed into one int64 per channel ---------------------
# a (17 bits) | pd << 17 (17 bits) | activity << 34 (4 bits) | texture << 38 (4 bits) | kind << 42
def pack_context(a, pd, activity, texture, kind):
    return (np.asarray(a, np.int64) | np.asarray(pd, np.int64) << 17 | np.asarray(activity, np.int64) << 34
            | np.asarray(texture, np.int64) << 38 | np.asarray(kind, np.int64) << 42)


def unpack_context(m):
    m = np.asarray(m, np.int64)
    return m & 0x1FFFF, (m >> 17) & 0x1FFFF, (m >> 34) & 15, (m >> 38) & 15, (m >> 42) & 3


def pack_near(nearest) -> np.ndarray:
    """Format 9's match input reads the 4 nearest neighbours' values of a pixel's channel
    (4 x N x C) packed in one int64: the first in the highest 16 bits."""
    v = np.asarray(nearest).astype(np.uint64)
    return (v[0] << 48 | v[1] << 32 | v[2] << 16 | v[3]).view(np.int64)


def agreeing(near: int, lo: int, b: int) -> list:
    """(value, agrees) of each of the 4 nearest neighbours (packed by pack_near), the first
    first: whether its bits above plane b are those of lo, the value decided so far."""
    values = [(int(near) >> (48 - 16 * t)) & 0xFFFF for t in range(4)]
    return [(v, v >> (b + 1) == lo >> (b + 1)) for v in values]


def match_context(near: int, lo: int, b: int) -> int:
    """The match counter's context at plane b of a value whose bits above b are lo's: for
    each of the 4 nearest neighbours, 0 where it does not agree (agreeing), else 1 + its bit b;
    in base 3, the first neighbour the most significant digit (0 .. 80)."""
    ctx = 0
    for v, agrees in agreeing(near, lo, b):
        ctx = ctx * 3 + (1 + ((v >> b) & 1) if agrees else 0)
    return ctx


def grid_mix_context(n: int, channels: int, bits: int, kind: int) -> np.ndarray:
    """A grid-pass pixel's context: a = pd = 2**(bits-1), activity 15, texture 0."""
    half = 1 << (bits - 1)
    return np.full((n, channels), int(pack_context(half, half, GRID_ACTIVITY, 0, kind)), np.int64)
