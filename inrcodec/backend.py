"""The decision backend: the compiled kernels (kernels.py), the product.

The walker hands a backend each chunk; `COMPILED` is the one every caller
uses, and oracle.ORACLE (numpy, the same integers step by step) is the
reference the tests compare it against. A backend does three jobs:
  features(known, p, ys, xs, bits, start)  the network's inputs of a run of pixels;
  trunk(cfg, weights, feats)  the network's integer outputs for those inputs (exact.trunk,
      with its layers' epilogue compiled here, numpy's in the oracle; a relu16 network runs
      on the CPU's int16 dot products here, kernels.trunk16: the same integers);
  chunk(rows, bits, const, learner, sink, ys, xs)  every decision of a chunk, whose
      bits come from the image (sink.from_image: the encoder) or from the ANS
      stream (the decoder); returns the chunk's values. The learner refines the
      network's probabilities: None (format 2), adapt.Adapt (formats 3-4) or
      mixing.Mixer (formats 5-9).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import exact, features, kernels
from .adapt import BUCKETS, Adapt, cell_index
from .exact import cdf_padded
from .features import Context
from .mixing import Mixer, rates, squash, stretch
from .schedule import GRID
from .tables import cdf_table, inv_scale_table

OK, EMPTY, OVER_BUDGET = kernels.OK, kernels.EMPTY, kernels.OVER_BUDGET


_NO_TABLE = np.zeros((1, BUCKETS), np.int64)          # no adaptive tables
_NO_MIXER = Mixer(1, 1)                               # no mixing
_NO_WORDS, _NO_REGS = np.zeros(1, np.uint32), np.zeros(2, np.uint64)
_NO_BUDGET = np.zeros(1, np.int64)


@lru_cache(maxsize=None)
def _tables() -> tuple:
    """The head's tables: inverse scale and CDF as int64, the CDF padded for interpolation as
    int32 (its values are 0 .. 2**30; read twice a decision, it then takes half the cache)."""
    return (inv_scale_table().astype(np.int64), cdf_table().astype(np.int64),
            cdf_padded().astype(np.int32))


@lru_cache(maxsize=None)
def _mix_tables() -> tuple:
    """The mixing tables as int32 (a quarter of the cache int64 would take)."""
    return tuple(np.ascontiguousarray(t, np.int32) for t in (squash(), stretch(), rates()))


def _learner_args(learner) -> tuple:
    """code_chunk's (mode, prob, count, mixer) for a chunk's learner."""
    if isinstance(learner, Mixer):
        mode = (kernels.MIX_FINE if learner.fine else kernels.MIX2 if learner.second
                else kernels.MIX_MATCH if learner.matched else kernels.MIX_SSE if learner.refined
                else kernels.MIX)
        return mode, _NO_TABLE, _NO_TABLE, learner
    if isinstance(learner, Adapt):
        return kernels.ADAPT, learner.prob, learner.count, _NO_MIXER
    return kernels.PLAIN, _NO_TABLE, _NO_TABLE, _NO_MIXER


class Compiled:
    """The compiled kernels."""
    name = "compiled"

    def features(self, known: np.ndarray, p, ys, xs, bits: int, start=None) -> Context:
        """Network inputs of pixels (ys, xs) of pass p (the run from `start`, when
        given); `known` holds every earlier pass's exact values."""
        h, w, c = known.shape
        if p.kind == GRID:
            return features.grid_context(p, ys, xs, bits, c, h, w)
        idx = (features.run_index(p, start, len(ys), h, w) if start is not None
               else features.neighbour_index(p, ys, xs, h, w))
        return Context(*kernels.neighbour_features(known.reshape(h * w, c), idx, bits, xs, ys, w, h,
                                                   *features.columns(p, bits), p.kind))

    def trunk(self, cfg, weights, feats: np.ndarray) -> np.ndarray:
        layers = exact.prepare(weights, cfg)
        if layers.narrow:              # relu16: the CPU's int16 dot products where it has them
            out = kernels.trunk16(layers.ints, feats, cfg.out_features)
            if out is not None:
                return out
        return exact.trunk(cfg, layers, feats, kernels.trunk_epilogue)

    def chunk(self, rows, bits: int, const: np.ndarray, learner, sink, ys, xs) -> np.ndarray:
        out, anchor, shift, mix, near = rows
        shared = _shared(const, learner, sink)
        if sink.from_image:
            truth = sink.truth(ys, xs)
            _, bit_rows, k_rows, _ = kernels.code_chunk(out, anchor, shift, bits, shared, mix, near, True, truth)
            sink.record_rows(bit_rows, k_rows)
            return truth
        values, _, _, err = kernels.code_chunk(out, anchor, shift, bits, shared, mix, near, False, None)
        sink.check(err)
        return values


def _shared(const: np.ndarray, learner, sink) -> kernels.Shared:
    """The kernels' shared state of this walk, kept on its sink (one per walk or stream)
    while the walk's flags and learner are the same objects."""
    shared = getattr(sink, "kernel_shared", None)
    if shared is None or shared.made_for[0] is not const or shared.made_for[1] is not learner:
        mode, prob, count, mixer = _learner_args(learner)
        if sink.from_image:
            words, regs, budget = _NO_WORDS, _NO_REGS, _NO_BUDGET
        else:
            ans = sink.ans()
            words, regs, budget = ans.words, ans.regs, sink.budget
        shared = kernels.Shared(const, *_tables(), mode, prob, count, cell_index(), mixer, _mix_tables(),
                                words, regs, budget, made_for=(const, learner))
        sink.kernel_shared = shared
    return shared


COMPILED = Compiled()
