"""The compiled decision kernels (`_kernels.c`), loaded with ctypes.

The C library is built with the package (setup.py) and holds the product's
arithmetic: a chunk's decisions (the one per-plane loop, whose bits come from
the image or from the ANS stream), a pass's neighbour features and single ANS
decisions. Its numpy oracle is oracle.py. Loading takes milliseconds, ctypes
releases the GIL during each call (the walker's worker threads run beside
it), and the constants the C code is written with are checked against the
Python modules' before anything is called.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from .adapt import BUCKETS, CELL_BITS, CELL_WEIGHT_BITS, COUNT_LIMIT, PRIOR_WEIGHT
from .exact import (ACT_LIMIT, FINE_K_MAX, FINE_K_MIN, INTERP_BITS, K_MAX, K_MIN, LOGS_LIMIT, MEAN_LIMIT, MIX_LIMIT,
                    NARROW_ACT_BITS, NARROW_TOP, NARROW_WEIGHT_BITS)
from .features import DIFF_LIMIT
from .model import COST_FLOOR, MIXTURE_LOGIT_LIMIT
from .mixing import (ANCHOR_CELLS, BIAS, BIAS_INPUT, CHANNEL_CELLS, COUNT_MAX, COUNTER_BITS, ERROR_SHIFT,
                     INPUTS, MATCH_CELLS, MATCH_INPUT, NET_INPUT, RATE_HALF, RATE_HI, RATE_LO, SSE_KNOTS,
                     SSE_ROWS, ST_LIMIT, TEXTURE_CELLS, WEIGHT_BITS, WEIGHT_LIMIT, WEIGHT_SETS, SECOND_SETS,
                     CONFIDENCE_BOUNDS, FINAL_LIMIT, FINAL_RATE)
from .native import library
from .schedule import NEAR
from .tables import ACT_BITS, CDF_BITS, CDF_SIZE, CDF_STEP_BITS, INV_BITS, INV_STEP_BITS, PROB_BITS

# error codes of the decoding kernel
OK, EMPTY, OVER_BUDGET = 0, 1, 2
# how the kernel refines the network's k: not at all (format 2), adaptive tables (3-4), mixing (5-7),
# mixing with weight sets and SSE (8), the match counter (9-10), a second mixer with no
# learning from a decision settled at the clamp (11-12), and the same with the fine clamp (13)
PLAIN, ADAPT, MIX, MIX_SSE, MIX_MATCH, MIX2, MIX_FINE = 0, 1, 2, 3, 4, 5, 6
_OUT_OF_MEMORY = -1

# linr_constant(i), in order, must equal these
_CONSTANTS = (ACT_BITS, CDF_BITS, CDF_STEP_BITS, CDF_SIZE, INV_BITS, INV_STEP_BITS, PROB_BITS, K_MIN,
              K_MAX, INTERP_BITS, MEAN_LIMIT, LOGS_LIMIT, MIX_LIMIT, BUCKETS, CELL_WEIGHT_BITS, CELL_BITS,
              COUNT_LIMIT, PRIOR_WEIGHT, DIFF_LIMIT, NEAR, OK, EMPTY, OVER_BUDGET, PLAIN, ADAPT, MIX,
              ST_LIMIT, INPUTS, NET_INPUT, BIAS_INPUT, BIAS, WEIGHT_BITS, WEIGHT_LIMIT, ERROR_SHIFT,
              RATE_LO, RATE_HI, RATE_HALF, COUNTER_BITS, COUNT_MAX, ANCHOR_CELLS, CHANNEL_CELLS,
              TEXTURE_CELLS, NARROW_ACT_BITS, NARROW_WEIGHT_BITS, NARROW_TOP, MIX_SSE, WEIGHT_SETS,
              SSE_KNOTS, SSE_ROWS, MATCH_INPUT, MATCH_CELLS, MIX_MATCH, MIX2, SECOND_SETS,
              *CONFIDENCE_BOUNDS, FINAL_LIMIT, FINAL_RATE, MIX_FINE, FINE_K_MIN, FINE_K_MAX)

_P, _I64, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int


def _load() -> ctypes.CDLL:
    lib = library()
    lib.linr_constant.argtypes, lib.linr_constant.restype = [_INT], _I64
    if tuple(lib.linr_constant(i) for i in range(len(_CONSTANTS))) != _CONSTANTS:
        raise ImportError(f"{Path(lib._name).name} was built from another version of linr: reinstall the package")
    lib.linr_code_chunk.argtypes = [_P, _I64, _P, _P, _I64, _I64, _I64, _P, _P, _P, _P, _INT, _P, _P, _P,
                                    _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _INT, _P, _P, _P,
                                    _P, _P, _P, _P]
    lib.linr_code_chunk.restype = _INT
    lib.linr_neighbour_features.argtypes = [_P, _INT, _I64, _P, _I64, _I64, _I64, _P, _P, _I64, _I64,
                                            _I64, _I64, _I64, _I64, _P, _P, _P, _P, _P]
    lib.linr_neighbour_features.restype = None
    lib.linr_pop_bits.argtypes, lib.linr_pop_bits.restype = [_P, _I64, _P, _P, _P], None
    lib.linr_push_bits.argtypes, lib.linr_push_bits.restype = [_P, _P, _I64, _P, _P], None
    lib.linr_trunk_epilogue.argtypes = [_P, _P, _I64, _I64, _INT, ctypes.c_double]
    lib.linr_trunk_epilogue.restype = _INT
    lib.linr_trunk16.argtypes = [_P, _I64, _I64, _INT, _P, _P, _P, _I64, _P, _INT]
    lib.linr_trunk16.restype = _INT
    lib.linr_fit_activate.argtypes = [_P, _P, _I64, _I64, _INT, ctypes.c_float, _P]
    lib.linr_fit_activate.restype = None
    lib.linr_fit_pass.argtypes, lib.linr_fit_pass.restype = [_P, _P, _I64, _I64, _P], None
    lib.linr_fit_head.argtypes = [_P, _P, _I64, _I64, _I64, _P, _P, _P, _P, ctypes.c_float, ctypes.c_float,
                                  ctypes.c_float, _P, _P]
    lib.linr_fit_head.restype = ctypes.c_double
    _D = ctypes.c_double
    lib.linr_fit_adam.argtypes, lib.linr_fit_adam.restype = [_P, _P, _P, _P, _I64, _D, _D, _D, _D, _I64, _D], None
    return lib


_LIB = _load()


def _ptr(a: np.ndarray, dtype) -> int:
    """The address of an array the C code reads or writes in place: it must already be
    C-contiguous with the kernel's dtype (a silent copy would lose the writes)."""
    if a.dtype != dtype or not a.flags.c_contiguous:
        raise TypeError(f"kernel argument must be a C-contiguous {np.dtype(dtype).name} array")
    return _addr(a)


_AT = ctypes.c_char.from_buffer


def _addr(a: np.ndarray) -> int:
    # a writable array's address through the buffer protocol: a third of the time of
    # __array_interface__ (itself cheaper than a.ctypes.data), 8 times a chunk
    try:
        return ctypes.addressof(_AT(a))
    except (TypeError, ValueError, BufferError):        # read-only, or empty
        return a.__array_interface__["data"][0]


def _in(a, dtype) -> np.ndarray:
    """An input array in the kernel's layout (a copy only when it is not already)."""
    return np.ascontiguousarray(a, dtype)


_NO_TRUTH, _NO_BITS, _NO_K = np.zeros((0, 1), np.uint16), np.zeros((0, 1), np.uint8), np.zeros((0, 1), np.uint16)
_NO_RECORDING = (_addr(_NO_TRUTH), _addr(_NO_BITS), _addr(_NO_K))


class Shared:
    """What a walk's kernel calls share: the tables, the learning state (mode PLAIN,
    ADAPT with prob, count: the adaptive tables and cells: adapt.cell_index, or MIX /
    MIX_SSE / MIX_MATCH / MIX2 / MIX_FINE with mixer: a mixing.Mixer and mix_tables: squash, stretch,
    rates as int32), the
    constant-plane flags and the stream's words, registers and budget. Their
    addresses are checked and taken once, not at every chunk (20 a chunk: 15% of
    decoding a small image); the arrays are kept alive here, updated in place."""

    def __init__(self, const, inv_table, cdf_table, table, mode: int, prob, count, cells, mixer, mix_tables,
                 words, regs, budget, made_for=()):
        self.made_for = made_for            # the caller's objects this state stands for (identity)
        const = _in(const, np.int64)
        squash, stretch, rates = mix_tables
        self.keep = (const, inv_table, cdf_table, table, prob, count, cells, mixer, mix_tables, words, regs, budget)
        self.mode, self.coded_planes = mode, int((const < 0).sum())
        self.head = (_ptr(const, np.int64), _ptr(inv_table, np.int64), _ptr(cdf_table, np.int64),
                     _ptr(table, np.int32), int(mode), _ptr(prob, np.int64), _ptr(count, np.int64),
                     _ptr(cells, np.int64))
        self.mixing = (_ptr(mixer.prefix, np.int32), _ptr(mixer.cells, np.int32), _ptr(mixer.sse, np.int32),
                       _ptr(mixer.match, np.int32), _ptr(mixer.weights, np.int64),
                       _ptr(mixer.seen, np.int64), _ptr(mixer.weights2, np.int64), _ptr(mixer.final, np.int64),
                       _ptr(squash, np.int32), _ptr(stretch, np.int32),
                       _ptr(rates, np.int32))
        self.stream = (_ptr(words, np.uint32), _ptr(regs, np.uint64), _ptr(budget, np.int64))


def code_chunk(out, anchor, shift, bits: int, shared: Shared, context, near, from_image: bool, truth):
    """Every decision of a chunk (oracle.decide_chunk), with the walk's `shared` state;
    context: N x C packed mixing contexts (modes MIX..); near: N x C the 4 nearest
    neighbours' values (features.Context.near; modes MIX_MATCH, MIX2, MIX_FINE); truth: the chunk's
    N x C values with from_image (the encoder), else unused. Returns (values N x C int64, bit
    rows uint8, k rows uint16, error code); the rows (coded planes x N, channel by
    channel from the MSB) only with from_image, the error only without. The tables,
    the mixer, regs and budget are updated in place."""
    out, anchor, shift = _in(out, np.int64), _in(anchor, np.int64), _in(shift, np.int64)
    context, near = _in(context, np.int64), _in(near, np.int64)
    n, C = anchor.shape
    if shared.mode >= MIX and context.shape != (n, C) or shared.mode >= MIX_MATCH and near.shape != (n, C):
        raise ValueError("mixing contexts do not match the chunk")
    if from_image:
        truth = _in(truth, np.uint16)
        out_bits = np.empty((shared.coded_planes, n), np.uint8)
        out_k = np.empty((shared.coded_planes, n), np.uint16)
        recording = (_addr(truth), _addr(out_bits), _addr(out_k))
    else:                                   # the decoder: nothing read from the image, no rows
        out_bits, out_k, recording = _NO_BITS, _NO_K, _NO_RECORDING
    values = np.empty((n, C), np.int64)
    err = _LIB.linr_code_chunk(
        _addr(out), out.shape[1], _addr(anchor), _addr(shift), n, C, bits, *shared.head, _addr(context),
        _addr(near), *shared.mixing, int(from_image), *recording, *shared.stream, _addr(values))
    if err == _OUT_OF_MEMORY:
        raise MemoryError("linr: out of memory in the decision kernel")
    return values, out_bits, out_k, err


def neighbour_features(flat, idx, bits: int, xs, ys, width: int, height: int, bits_col: int,
                       level_col: int, kind_col: int, kind: int):
    """oracle.pixel_context's (feats, anchor, shift, mixing contexts, nearest values) for a
    pass with neighbours; flat: the decoded values (H*W x C, uint8 or uint16), idx: 12 x N
    flat indices; kind: the pass's kind (schedule.CENTRE or EDGE)."""
    if flat.dtype not in (np.uint8, np.uint16):
        flat = flat.astype(np.uint16)
    flat = np.ascontiguousarray(flat)
    idx, xs, ys = _in(idx, np.int64), _in(xs, np.int64), _in(ys, np.int64)
    m, n = idx.shape
    C = flat.shape[1]
    if m > 16:
        raise ValueError("at most 16 neighbours")
    F = (m + 1) * C + 6
    out = np.empty(n * (F + 3 * C + 1), np.int64)           # one allocation, one address
    feats, anchor = out[:n * F].reshape(n, F), out[n * F:n * (F + C)].reshape(n, C)
    context, shift = out[n * (F + C):n * (F + 2 * C)].reshape(n, C), out[n * (F + 2 * C):n * (F + 2 * C) + n]
    near = out[n * (F + 2 * C) + n:].reshape(n, C)
    base = _addr(out)
    _LIB.linr_neighbour_features(_addr(flat), int(flat.dtype == np.uint16), C, _addr(idx), m, n,
                                 bits, _addr(xs), _addr(ys), width, height, bits_col, level_col,
                                 kind_col, kind, base, base + 8 * n * F, base + 8 * n * (F + 2 * C),
                                 base + 8 * n * (F + C), base + 8 * (n * (F + 2 * C) + n))
    return feats, anchor, shift, context, near


def trunk_epilogue(y: np.ndarray, b: np.ndarray, relu: bool, top: float) -> bool:
    """exact.trunk's epilogue of a layer in one pass, in place: y = floor(y + b), clipped to
    [0, top] when relu (y: n x m float64, C-contiguous; b: m). False, y untouched, on a CPU
    without AVX2 (the caller's numpy does it then: the same values)."""
    n, m = y.shape
    return bool(_LIB.linr_trunk_epilogue(_ptr(y, np.float64), _ptr(b, np.float64), n, m, int(relu), top))


# linr_trunk16's paths: the best this CPU has, plain C, AVX2, AVX-512 VNNI
TRUNK16_BEST, TRUNK16_PLAIN, TRUNK16_AVX2, TRUNK16_VNNI = 0, 1, 2, 3


def trunk16(layers: list, feats: np.ndarray, out_features: int, level: int = TRUNK16_BEST):
    """A relu16 network's integer outputs (exact.trunk's, computed in int16 and int32):
    layers are exact.Prepared.ints, feats n x F int64. None where the path asked for is
    missing on this CPU."""
    feats = np.ascontiguousarray(feats, np.int64)
    n, count = feats.shape[0], len(layers)
    out = np.empty((n, out_features), np.int64)
    wp = (ctypes.c_void_p * count)(*[w.ctypes.data for w, _ in layers])
    bias = (ctypes.c_void_p * count)(*[b.ctypes.data for _, b in layers])
    m = (ctypes.c_int * count)(*[w.shape[1] for w, _ in layers])
    used = _LIB.linr_trunk16(_addr(feats), n, feats.shape[1], count, wp, bias, m, out_features,
                             _addr(out), level)
    return out if used else None


def pop_bits(k: np.ndarray, words: np.ndarray, regs: np.ndarray) -> np.ndarray:
    """Decisions with P1 = k / 2**16 (uint16, contiguous, in decoding order) off the ANS
    stack: words (uint32) and regs (uint64 [state, words not yet read]), updated in place.
    Returns the bits as uint8."""
    out = np.empty(len(k), np.uint8)
    _LIB.linr_pop_bits(_ptr(k, np.uint16), len(k), _ptr(words, np.uint32), _ptr(regs, np.uint64),
                       _addr(out))
    return out


def push_bits(bits: np.ndarray, k: np.ndarray, words: np.ndarray, regs: np.ndarray) -> None:
    """The ANS encoder (linr_push_bits): decisions (bits uint8, k uint16 in 1 .. 65535,
    contiguous, in decoding order) pushed last first onto the stack of words (uint32, room
    for len(bits) more after regs[1] of them) and state regs[0] (regs: uint64 [state, count])."""
    n = len(bits)
    if len(k) != n or len(words) < int(regs[1]) + n:
        raise ValueError("push_bits: sizes do not match")
    _LIB.linr_push_bits(_ptr(bits, np.uint8), _ptr(k, np.uint16), n, _ptr(words, np.uint32),
                        _ptr(regs, np.uint64))


# -- the encoder's delta fit (cpu_fit.py): float32 passes between numpy's matrix products ----
def fit_activate(z: np.ndarray, bias: np.ndarray, narrow: bool, passed: np.ndarray) -> None:
    """z (n x m float32) += bias, then relu16's floor grid (narrow) or relu's clip to the exact
    trunk's [0, 256] (exact.ACT_LIMIT), in place; passed (n x m uint8) = 1 where the activation
    passes a gradient."""
    n, m = z.shape
    _LIB.linr_fit_activate(_ptr(z, np.float32), _ptr(bias, np.float32), n, m, int(narrow), ACT_LIMIT / (1 << ACT_BITS),
                           _ptr(passed, np.uint8))


def fit_pass(g: np.ndarray, passed: np.ndarray, g_bias: np.ndarray) -> None:
    """The activation's backward in place on g (n x m float32); g_bias (m) = its column sums."""
    n, m = g.shape
    _LIB.linr_fit_pass(_ptr(g, np.float32), _ptr(passed, np.uint8), n, m, _ptr(g_bias, np.float32))


def fit_head(o: np.ndarray, bias: np.ndarray, channels: int, anchor: np.ndarray, scale: np.ndarray,
             values: np.ndarray, top: np.ndarray, grad: float, g_out: np.ndarray, g_bias: np.ndarray) -> float:
    """network._HeadCost on n rows of the last layer's products o (n x cols float32, bias
    added inside): the sum of their costs in bits; g_out (n x cols) = grad x the gradient."""
    n, cols = o.shape
    if cols > 64 or channels > 4:
        raise ValueError("fit_head: at most 4 channels")
    return _LIB.linr_fit_head(_ptr(o, np.float32), _ptr(bias, np.float32), n, cols, channels,
                              _ptr(anchor, np.float32), _ptr(scale, np.float32), _ptr(values, np.float32),
                              _ptr(top, np.float32), grad, MIXTURE_LOGIT_LIMIT, COST_FLOOR,
                              _ptr(g_out, np.float32), _ptr(g_bias, np.float32))


def fit_adam(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, betas: tuple,
             eps: float, step: int, l1: float) -> None:
    """One Adam step (fitting.Adam's arithmetic) on p in place, l1 x sign(p) added to its gradient."""
    _LIB.linr_fit_adam(_ptr(p, np.float32), _ptr(g, np.float32), _ptr(m, np.float32), _ptr(v, np.float32),
                       p.size, lr, betas[0], betas[1], eps, step, l1)
