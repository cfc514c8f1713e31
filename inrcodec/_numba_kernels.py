"""The numba kernels behind kernel.py (imported only when they are wanted).

Each mirrors a numpy function of exact.py for one value at a time; the
comments name it. All arithmetic is int64 (uint64 for the ANS state).
"""
import numba
import numpy as np

from .exact import CDF_ONE, HALF, INTERP_BITS, K_MAX, K_MIN
from .kernel import EMPTY, OK, OVER_BUDGET
from .tables import ACT_BITS, CDF_BITS, CDF_SIZE, CDF_STEP_BITS, INV_BITS, PROB_BITS


ACT_HALF = (1 << ACT_BITS) >> 1
SHIFT0 = ACT_BITS + INV_BITS - CDF_STEP_BITS - INTERP_BITS   # exact.Head.cdf's shift, less the pixel's
Z_OFFSET = (CDF_SIZE // 2) << INTERP_BITS
Z_MAX = (CDF_SIZE - 1) << INTERP_BITS
FRAC_MASK = (1 << INTERP_BITS) - 1
ANS_TOTAL = 1 << 24                  # constriction's model precision (RANS.md)

jit = numba.njit(cache=True, nogil=True)



@jit
def interp(z, table):
    # exact._table_cdf for one value
    z += Z_OFFSET
    z = min(max(z, 0), Z_MAX)
    i = z >> INTERP_BITS
    lo = table[i]
    return lo + (((table[i + 1] - lo) * (z & FRAC_MASK)) >> INTERP_BITS)


@jit
def cdf_at(t, top, m0, m1, i1, i2, w, sh, table):
    # exact.Head.cdf for one pixel
    if t <= 0:
        return 0
    if t >= top:
        return CDF_ONE
    half = (t << ACT_BITS) - ACT_HALF
    f1 = interp(((half - m0) * i1) >> sh, table)
    f2 = interp(((half - m1) * i2) >> sh, table)
    return (((f1 - f2) * w) >> CDF_BITS) + f2


@jit
def probability(f_lo, f_mid, f_hi):
    # exact.bit_probability for one decision
    d = f_hi - f_lo
    if d <= 0:
        return HALF
    k = (((f_hi - f_mid) << PROB_BITS) + (d >> 1)) // d
    return min(max(k, K_MIN), K_MAX)


@jit
def pop_bit(k, words, regs):
    # one Bernoulli(perfect=False) decision off the ANS stack
    state = regs[0]
    cdf1 = (((65536 - k) * (ANS_TOTAL - 2)) >> 16) + 1
    q = np.int64(state & np.uint64(ANS_TOTAL - 1))
    if q >= cdf1:
        bit, start, freq = 1, cdf1, ANS_TOTAL - cdf1
    else:
        bit, start, freq = 0, 0, cdf1
    state = (state >> np.uint64(24)) * np.uint64(freq) + np.uint64(q - start)
    if state < np.uint64(1 << 32) and regs[1] > 0:
        regs[1] -= np.uint64(1)
        state = (state << np.uint64(32)) | np.uint64(words[np.int64(regs[1])])
    regs[0] = state
    return bit


@jit
def decode_channel(mu0, mu1, inv1, inv2, weight, shift, const_c, bits, table, words, regs, budget):
    n = mu0.shape[0]
    lo = np.zeros(n, np.int64)
    f_lo = np.zeros(n, np.int64)
    f_hi = np.full(n, CDF_ONE, np.int64)
    top = 1 << bits
    for b in range(bits - 1, -1, -1):
        fixed = const_c[b]
        if fixed < 0 and n > 0:
            if regs[0] == 0:
                return lo, EMPTY
            budget[0] -= n
            if budget[0] < 0:
                return lo, OVER_BUDGET
        step = 1 << b
        for i in range(n):
            mid = lo[i] + step
            fm = cdf_at(mid, top, mu0[i], mu1[i], inv1[i], inv2[i], weight[i],
                        SHIFT0 + shift[i], table)
            if fixed < 0:
                bit = pop_bit(probability(f_lo[i], fm, f_hi[i]), words, regs)
            else:
                bit = fixed
            if bit:
                lo[i] = mid
                f_lo[i] = fm
            else:
                f_hi[i] = fm
    return lo, OK


@jit
def channel_decisions(mu0, mu1, inv1, inv2, weight, shift, const_c, bits, table, values):
    n = mu0.shape[0]
    coded = 0
    for b in range(bits):
        if const_c[b] < 0:
            coded += 1
    out_bits = np.empty((coded, n), np.uint8)
    out_k = np.empty((coded, n), np.uint16)
    top = 1 << bits
    for i in range(n):
        lo, f_lo, f_hi, row = 0, 0, CDF_ONE, 0
        for b in range(bits - 1, -1, -1):
            mid = lo + (1 << b)
            fm = cdf_at(mid, top, mu0[i], mu1[i], inv1[i], inv2[i], weight[i],
                        SHIFT0 + shift[i], table)
            bit = (values[i] >> b) & 1
            if const_c[b] < 0:
                out_k[row, i] = probability(f_lo, fm, f_hi)
                out_bits[row, i] = bit
                row += 1
            if bit:
                lo, f_lo = mid, fm
            else:
                f_hi = fm
    return out_bits, out_k


@jit
def decode_bits(k, words, regs):
    out = np.empty(k.shape[0], np.int64)
    for i in range(k.shape[0]):
        out[i] = pop_bit(k[i], words, regs)
    return out
