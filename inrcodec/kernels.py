"""The compiled decision kernels: the decoder's and the encoder's inner loops.

This is the product's arithmetic; oracle.py holds the numpy version of each
function (exact.Head, oracle.decide_planes, oracle.pixel_context), which the
tests compare against. A change to the decision rule is made here and in its
oracle. Each kernel works one value at a time, in int64 (uint64 for the ANS
state): arithmetic right shifts and floor division of non-negative numbers,
so the integers are the same on every machine.

The ANS decoder follows constriction's AnsCoder<u32, u64> with
Bernoulli(perfect=False) models, as written out in formats/reference/RANS.md:
  cdf1 = ((65536 - k) * (2**24 - 2) >> 16) + 1;  q = state mod 2**24;
  bit = q >= cdf1;  state = (state >> 24) * freq(bit) + q - start(bit);
  refill one 32-bit word from the end while words remain and state < 2**32.
"""
import numba
import numpy as np

from .adapt import BUCKETS, CELL_BITS, CELL_WEIGHT_BITS, COUNT_LIMIT, PRIOR_WEIGHT
from .exact import (CDF_ONE, INTERP_BITS, K_MAX, K_MIN, LOGS_LIMIT, MEAN_LIMIT,
                    MIX_LIMIT)
from .features import DIFF_LIMIT
from .schedule import NEAR
from .tables import (ACT_BITS, ACT_ONE, CDF_BITS, CDF_SIZE, CDF_STEP_BITS, HALF_K, INV_BITS,
                     INV_STEP_BITS, PROB_BITS)


ACT_HALF = (1 << ACT_BITS) >> 1
SHIFT0 = ACT_BITS + INV_BITS - CDF_STEP_BITS - INTERP_BITS   # exact.Head.cdf's shift, less the pixel's
Z_OFFSET = (CDF_SIZE // 2) << INTERP_BITS
Z_MAX = (CDF_SIZE - 1) << INTERP_BITS
FRAC_MASK = (1 << INTERP_BITS) - 1
ANS_TOTAL = 1 << 24                  # constriction's model precision (RANS.md)
CELL_ONE = 1 << CELL_WEIGHT_BITS
CELL_SHIFT = CELL_WEIGHT_BITS + CELL_BITS - PROB_BITS

jit = numba.njit(cache=True, nogil=True)

# error codes of the decoding kernels
OK, EMPTY, OVER_BUDGET = 0, 1, 2


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
        return HALF_K
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
def mixed(k, t, count, i, f):
    # the coder's k from the network's k and its table row (adapt.Adapt.refine)
    a = (t[i] * (CELL_ONE - f) + t[i + 1] * f) >> CELL_SHIFT
    if count[i] == COUNT_LIMIT and count[i + 1] == COUNT_LIMIT:
        k = (k + 3 * a + 2) >> 2
    else:
        k = (k + a + 1) >> 1
    return min(max(k, K_MIN), K_MAX)


@jit
def tally(i, f, bit, sums, bit_sums):
    sums[i] += CELL_ONE - f
    sums[i + 1] += f
    if bit:
        bit_sums[i] += CELL_ONE - f
        bit_sums[i + 1] += f


@jit
def learn(t, count, sums, bit_sums):
    # adapt.Adapt.learn for one table row, from a batch's sums
    for j in range(BUCKETS):
        if sums[j] > 0:
            t[j] = (t[j] * (count[j] + PRIOR_WEIGHT) + (bit_sums[j] << CELL_BITS)) \
                // (count[j] + PRIOR_WEIGHT + sums[j])
            count[j] = min(count[j] + sums[j], COUNT_LIMIT)
        sums[j] = 0
        bit_sums[j] = 0


@jit
def code_planes(mu0, mu1, inv1, inv2, weight, shift, const_c, bits, table, c, adaptive, prob, count,
                cells, from_image, truth_c, out_bits, out_k, first_row, words, regs, budget):
    # oracle.decide_planes for channel c: the value is narrowed plane by plane,
    # MSB first. A coded plane's bits come from the image (truth_c; the encoder
    # records (bit, k) in rows first_row.. of out_bits / out_k) or from the ANS
    # stream (the decoder, within `budget` decisions). prob / count are the
    # adaptive tables (format 3 on; unused without `adaptive`), read as they
    # stand at the plane's start and learnt at its end.
    n = mu0.shape[0]
    lo = np.zeros(n, np.int64)
    f_lo = np.zeros(n, np.int64)
    f_hi = np.full(n, CDF_ONE, np.int64)
    top = 1 << bits
    sums = np.zeros(BUCKETS, np.int64)
    bit_sums = np.zeros(BUCKETS, np.int64)
    row = first_row
    for b in range(bits - 1, -1, -1):
        fixed = const_c[b]
        if fixed < 0 and n > 0 and not from_image:
            if regs[0] == 0:
                return lo, EMPTY
            budget[0] -= n
            if budget[0] < 0:
                return lo, OVER_BUDGET
        step = 1 << b
        table_row = c * bits + b if adaptive else 0
        t, m = prob[table_row], count[table_row]
        for i in range(n):
            mid = lo[i] + step
            fm = cdf_at(mid, top, mu0[i], mu1[i], inv1[i], inv2[i], weight[i],
                        SHIFT0 + shift[i], table)
            if fixed < 0:
                k = probability(f_lo[i], fm, f_hi[i])
                j, f = cells[k, 0], cells[k, 1]
                if adaptive:
                    k = mixed(k, t, m, j, f)
                if from_image:
                    bit = (np.int64(truth_c[i]) >> b) & 1
                    out_bits[row, i] = bit
                    out_k[row, i] = k
                else:
                    bit = pop_bit(k, words, regs)
                if adaptive:
                    tally(j, f, bit, sums, bit_sums)
            else:
                bit = fixed
            if bit:
                lo[i] = mid
                f_lo[i] = fm
            else:
                f_hi[i] = fm
        if fixed < 0:
            if adaptive:
                learn(t, m, sums, bit_sums)
            row += 1
    return lo, OK


@jit
def channel_params(out, anchor, shift, bits, c, residual, size, inv_table, cdf_table,
                   mu0, mu1, inv1, inv2, weight):
    # exact.Head.mean and exact.Head.distribution of channel c, per pixel
    n, C = anchor.shape
    pairs = C * (C - 1) // 2
    lim = 1 << (bits + ACT_BITS)
    for i in range(n):
        mean_shift, scale_shift = 0, 0
        for j in range(c):
            col = c * (c - 1) // 2 + j                       # exact.mix_index
            a = min(max(out[i, 5 * C + col], -MIX_LIMIT), MIX_LIMIT)
            mean_shift += (a * residual[i, j]) >> ACT_BITS
            b = min(max(out[i, 5 * C + pairs + col], -MIX_LIMIT), MIX_LIMIT)
            scale_shift += (b * size[i, j]) >> ACT_BITS
        base = anchor[i, c] << ACT_BITS
        m = min(max(out[i, c], -MEAN_LIMIT), MEAN_LIMIT)
        mu0[i] = min(max(base + (m << shift[i]) + mean_shift, -lim), 2 * lim)
        m = min(max(out[i, 4 * C + c], -MEAN_LIMIT), MEAN_LIMIT)
        mu1[i] = min(max(base + (m << shift[i]) + mean_shift, -lim), 2 * lim)
        l1 = min(max(out[i, C + 2 * c] + scale_shift, -LOGS_LIMIT), LOGS_LIMIT - 1)
        l2 = min(max(out[i, C + 2 * c + 1] + scale_shift, -LOGS_LIMIT), LOGS_LIMIT - 1)
        inv1[i] = inv_table[(l1 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)]
        inv2[i] = inv_table[(l2 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)]
        w = (out[i, 3 * C + c] >> (ACT_BITS - CDF_STEP_BITS)) + CDF_SIZE // 2
        weight[i] = cdf_table[min(max(w, 0), CDF_SIZE - 1)]


@jit
def set_values(values, c, shift, mu0, residual, size):
    # exact.Head.set_value: the residual from the first mean and its size
    for i in range(values.shape[0]):
        r = (values[i] << ACT_BITS) - mu0[i]
        residual[i, c] = r
        v = abs(r) >> shift[i]
        length = 0
        while v > 0:                                         # bit_length
            v >>= 1
            length += 1
        size[i, c] = min(max(length - ACT_BITS, -4), 8) << ACT_BITS


@jit
def code_chunk(out, anchor, shift, bits, const, inv_table, cdf_table, table, adaptive, prob, count,
               cells, from_image, truth, words, regs, budget):
    # oracle.decide_chunk: every channel of a chunk, each channel's
    # distribution from the trunk's outputs and the channels before it.
    # Returns (values, bits, k, error): with from_image, the (bit, k) rows of the
    # coded planes, channel by channel from the MSB; else rows-less arrays.
    n, C = anchor.shape
    rows = 0
    if from_image:
        for c in range(C):
            for b in range(bits):
                if const[b, c] < 0:
                    rows += 1
    out_bits = np.empty((rows, n), np.uint8)
    out_k = np.empty((rows, n), np.uint16)
    values = np.zeros((n, C), np.int64)
    residual = np.zeros((n, C), np.int64)
    size = np.zeros((n, C), np.int64)
    mu0, mu1 = np.empty(n, np.int64), np.empty(n, np.int64)
    inv1, inv2, weight = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    row = 0
    for c in range(C):
        channel_params(out, anchor, shift, bits, c, residual, size, inv_table, cdf_table,
                       mu0, mu1, inv1, inv2, weight)
        truth_c = truth[:, c] if from_image else truth[:0, 0]
        lo, err = code_planes(mu0, mu1, inv1, inv2, weight, shift, const[:, c], bits, table, c,
                              adaptive, prob, count, cells, from_image, truth_c, out_bits, out_k, row,
                              words, regs, budget)
        if err != OK:
            return values, out_bits, out_k, err
        if from_image:
            for b in range(bits):
                if const[b, c] < 0:
                    row += 1
        values[:, c] = lo
        set_values(lo, c, shift, mu0, residual, size)
    return values, out_bits, out_k, OK


@jit
def neighbour_features(flat, idx, bits, xs, ys, width, height, bits_col, level_col, kind_col):
    # oracle.pixel_context for a pass with neighbours (columns in the same order)
    m, n = idx.shape
    C = flat.shape[1]
    feats = np.empty((n, 13 * C + 6), np.int64)
    anchor = np.empty((n, C), np.int64)
    shift = np.empty(n, np.int64)
    vals = np.empty((m, C), np.int64)
    for i in range(n):
        g = 0
        for c in range(C):
            s = 0
            for j in range(m):
                v = np.int64(flat[idx[j, i], c])
                vals[j, c] = v
                if j < NEAR:
                    s += v
            a = s >> 2
            anchor[i, c] = a
            for j in range(m):
                g += abs(vals[j, c] - a)
        g //= m * C
        sh = 0
        while g > 0:                              # bit_length(g)
            g >>= 1
            sh += 1
        shift[i] = sh
        for j in range(m):
            for c in range(C):
                d = ((vals[j, c] - anchor[i, c]) << ACT_BITS) >> sh
                feats[i, j * C + c] = min(max(d, -DIFF_LIMIT), DIFF_LIMIT)
        for c in range(C):
            feats[i, m * C + c] = ((2 * anchor[i, c] + 1 - (1 << bits)) << ACT_BITS) >> bits
        base = (m + 1) * C
        feats[i, base] = (sh << ACT_BITS) // 16
        feats[i, base + 1] = bits_col
        feats[i, base + 2] = level_col
        feats[i, base + 3] = kind_col
        feats[i, base + 4] = ((2 * xs[i] + 1) << ACT_BITS) // width - ACT_ONE
        feats[i, base + 5] = ((2 * ys[i] + 1) << ACT_BITS) // height - ACT_ONE
    return feats, anchor, shift
