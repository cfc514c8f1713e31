"""Entropy coding: the ANS coder of formats/linr.md (section 10, formats/reference/RANS.md).

One ANS stream per file holds the weight-delta integers, the constant-plane
flags, then every coded bit: all of them binary decisions with P(1) = k / 2**16
for an integer k. The coder is constriction's AnsCoder<u32, u64> with
Bernoulli(perfect=False) models, whose quantisation of k / 2**16 is a pure integer
rule (RANS.md, "Bit"), identical on both sides. The compiled kernels hold the one
copy of it that linr runs: the encoder pushes with kernels.push_bits, the decoder
pops with the pixel kernels and, outside them, kernels.pop_bits. constriction
itself is only the tests' reference (tests/test_entropy.py: the same words and bits).
"""
from __future__ import annotations

import numpy as np

from .errors import FormatError
from .tables import HALF_K, PROB_BITS
from .intmath import bit_length
from .kernels import pop_bits, push_bits

MAX_INT_BITS = 20                 # delta integers: |q| < 2**21


def _probabilities(k) -> np.ndarray:
    """k as the coder's contiguous uint16, refused outside 1 .. 65535."""
    k = np.asarray(k).ravel()
    if k.size and (k.min() < 1 or k.max() >= 1 << PROB_BITS):
        raise ValueError("a decision's probability is outside 1 .. 65535 / 65536")
    return np.ascontiguousarray(k, np.uint16)


def int_decisions(q: np.ndarray, k_nonzero: int, k_more: int) -> list:
    """The binary decisions that code integers q, stage by stage (all values at once):
    1. per value, nonzero? (P1 = k_nonzero);  2. per nonzero value, negative? (1/2);
    3. Elias-gamma length L = bit_length(|q|) - 1 in unary: round r asks every value
       with L >= r whether L > r (P1 = k_more), r = 0, 1, ...;
    4. the L bits of |q| below its leading 1, from the highest, round by round (1/2)."""
    q = np.asarray(q, np.int64).ravel()
    out = [((q != 0).astype(np.int64), np.full(q.size, k_nonzero))]
    nz = q[q != 0]
    out.append(((nz < 0).astype(np.int64), np.full(nz.size, HALF_K)))
    m = np.abs(nz)
    length = bit_length(m) - 1
    r = 0
    while True:
        alive = length >= r
        if not alive.any():
            break
        out.append(((length[alive] > r).astype(np.int64), np.full(int(alive.sum()), k_more)))
        r += 1
    for r in range(int(length.max()) if length.size else 0):
        sel = length > r                       # values that have a bit at position length-1-r
        out.append((((m[sel] >> (length[sel] - 1 - r)) & 1), np.full(int(sel.sum()), HALF_K)))
    return out


class StreamWriter:
    """Collects what is to be coded in decoding order, then codes it all."""

    def __init__(self):
        self._parts = []

    def ints(self, q: np.ndarray, k_nonzero: int, k_more: int) -> None:
        for bits, k in int_decisions(q, k_nonzero, k_more):
            self.bits(bits, k)

    def bits(self, bits: np.ndarray, k: np.ndarray) -> None:
        self._parts.append((bits, k))

    def finish(self) -> bytes:
        out = BackwardWriter()
        out.push(self._parts)
        return out.finish()


class BackwardWriter:
    """Codes parts as they come, last-decoded first (ANS is a stack): memory
    holds the compressed words, not the decisions. push() takes a list of
    (bits, k) pairs in decoding order. The coder is the C kernel's
    (kernels.push_bits), which writes constriction's AnsCoder words exactly
    (tests/test_entropy.py) in a sixth of the time (a Kodak image's: 0.31 ->
    0.05 s), with the GIL released: the groups of an image are written side by side."""

    def __init__(self):
        self._words = np.empty(1 << 10, np.uint32)
        self._regs = np.zeros(2, np.uint64)          # the state, the words pushed

    def push(self, parts) -> None:
        for bits, k in reversed(parts):
            bits = np.ascontiguousarray(np.asarray(bits).ravel(), np.uint8)
            if not bits.size:
                continue
            k = _probabilities(k)
            need = int(self._regs[1]) + bits.size
            if need > self._words.size:
                grown = np.empty(max(need, 2 * self._words.size), np.uint32)
                grown[:int(self._regs[1])] = self._words[:int(self._regs[1])]
                self._words = grown
            push_bits(bits, k, self._words, self._regs)

    def finish(self) -> bytes:
        """The pushed words, then the state's, least significant first without the top zero
        words (constriction's get_compressed)."""
        state = int(self._regs[0])
        tail = [state & 0xFFFFFFFF, state >> 32]
        while tail and tail[-1] == 0:
            tail.pop()
        return self._words[:int(self._regs[1])].astype("<u4").tobytes() + np.array(tail, "<u4").tobytes()


class StreamReader:
    """Pops decisions off a stream in decoding order: the words (a stack, read from the end)
    and the 64-bit state, regs = [state, words not yet read], which the pixel kernels take
    over in place (backend.Compiled.chunk) between the pops of flags and terminator here."""

    def __init__(self, data: bytes):
        if len(data) % 4:
            raise FormatError("coded stream is not a whole number of 32-bit words")
        self.words = np.frombuffer(data, "<u4").astype(np.uint32)
        if self.words.size and self.words[-1] == 0:
            raise FormatError("coded stream is corrupt")
        left, state = len(self.words), 0
        while state < (1 << 32) and left:                  # at most two words (RANS.md)
            state = (state << 32) | int(self.words[left - 1])
            left -= 1
        self.regs = np.array([state, left], np.uint64)

    def ints(self, count: int, k_nonzero: int, k_more: int) -> np.ndarray:
        """Inverse of int_decisions."""
        nonzero = self.bits(np.full(count, k_nonzero)).astype(bool)
        n = int(nonzero.sum())
        negative = self.bits(np.full(n, HALF_K)).astype(bool)
        length = np.zeros(n, np.int64)
        alive = np.ones(n, bool)
        r = 0
        while alive.any():
            if r > MAX_INT_BITS:
                raise FormatError("delta integer longer than the format allows")
            more = self.bits(np.full(int(alive.sum()), k_more)).astype(bool)
            idx = np.nonzero(alive)[0]
            length[idx[more]] += 1
            alive[idx[~more]] = False
            r += 1
        m = np.ones(n, np.int64)
        for r in range(int(length.max()) if n else 0):
            sel = length > r
            m[sel] = (m[sel] << 1) | self.bits(np.full(int(sel.sum()), HALF_K))
        out = np.zeros(count, np.int64)
        out[nonzero] = np.where(negative, -m, m)
        return out

    def bits(self, k) -> np.ndarray:
        """Decisions with P1 = k / 2**16 (any shape), as int64 bits of that shape."""
        return pop_bits(_probabilities(k), self.words, self.regs).astype(np.int64).reshape(np.shape(k))

    def empty(self) -> bool:
        """The stream's end: the state is 0 (RANS.md; a valid stream has no words left then)."""
        return int(self.regs[0]) == 0
