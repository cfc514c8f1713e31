/* The compiled decision kernels: the decoder's and the encoder's inner loops.
 *
 * This is the product's arithmetic; inrcodec/oracle.py holds the numpy version
 * of each function (exact.Head, oracle.decide_planes, oracle.pixel_context),
 * which the tests compare against. A change to the decision rule is made here
 * and in its oracle. Everything is int64 (uint64 for the ANS state). C leaves
 * right shifts of negative numbers and left shifts of negative numbers to the
 * implementation, so every such step goes through sar() (a floor shift) and
 * multiplications by powers of two: the integers are the same on every machine.
 *
 * The ANS decoder follows constriction's AnsCoder<u32, u64> with
 * Bernoulli(perfect=False) models, as written out in formats/reference/RANS.md:
 *   cdf1 = ((65536 - k) * (2**24 - 2) >> 16) + 1;  q = state mod 2**24;
 *   bit = q >= cdf1;  state = (state >> 24) * freq(bit) + q - start(bit);
 *   refill one 32-bit word from the end while words remain and state < 2**32.
 *
 * Loaded with ctypes (kernels.py), which releases the GIL during each call.
 * The constants are checked against the Python modules' at load time.
 */
#include <stdint.h>
#include <stdlib.h>

typedef int64_t i64;
typedef uint64_t u64;

/* tables.py, exact.py, adapt.py, features.py, schedule.py */
#define ACT_BITS 12
#define ACT_ONE (1 << ACT_BITS)
#define CDF_BITS 30
#define CDF_STEP_BITS 8
#define CDF_SIZE (32 << CDF_STEP_BITS)
#define INV_BITS 16
#define INV_STEP_BITS 6
#define PROB_BITS 16
#define HALF_K (1 << (PROB_BITS - 1))
#define K_MIN 64
#define K_MAX ((1 << PROB_BITS) - 64)
#define CDF_ONE ((i64)1 << CDF_BITS)
#define INTERP_BITS 8
#define MEAN_LIMIT (64 * ACT_ONE)
#define LOGS_LIMIT (8 * ACT_ONE)
#define MIX_LIMIT (4 * ACT_ONE)
#define BUCKETS 33
#define CELL_WEIGHT_BITS 12
#define CELL_BITS 22
#define COUNT_LIMIT (255 << CELL_WEIGHT_BITS)
#define PRIOR_WEIGHT (1 << (CELL_WEIGHT_BITS - 1))
#define DIFF_LIMIT (8 * ACT_ONE)
#define NEAR 4

#define ACT_HALF (ACT_ONE >> 1)
#define SHIFT0 (ACT_BITS + INV_BITS - CDF_STEP_BITS - INTERP_BITS)
#define Z_OFFSET ((i64)(CDF_SIZE / 2) << INTERP_BITS)
#define Z_MAX ((i64)(CDF_SIZE - 1) << INTERP_BITS)
#define FRAC_MASK ((1 << INTERP_BITS) - 1)
#define ANS_TOTAL (1 << 24)
#define CELL_ONE (1 << CELL_WEIGHT_BITS)
#define CELL_SHIFT (CELL_WEIGHT_BITS + CELL_BITS - PROB_BITS)

enum { OK = 0, EMPTY = 1, OVER_BUDGET = 2 };

/* what kernels.py checks before it calls anything */
i64 linr_constant(int which) {
    static const i64 values[] = {ACT_BITS, CDF_BITS, CDF_STEP_BITS, CDF_SIZE, INV_BITS, INV_STEP_BITS,
                                 PROB_BITS, K_MIN, K_MAX, INTERP_BITS, MEAN_LIMIT, LOGS_LIMIT,
                                 MIX_LIMIT, BUCKETS, CELL_WEIGHT_BITS, CELL_BITS, COUNT_LIMIT,
                                 PRIOR_WEIGHT, DIFF_LIMIT, NEAR, OK, EMPTY, OVER_BUDGET};
    return which >= 0 && which < (int)(sizeof values / sizeof values[0]) ? values[which] : -1;
}

static inline i64 sar(i64 x, int s) { return x >= 0 ? x >> s : ~((~x) >> s); }   /* floor(x / 2**s) */
static inline i64 floordiv(i64 a, i64 b) {                                      /* b > 0 */
    i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline i64 clamp(i64 v, i64 lo, i64 hi) { return v < lo ? lo : (v > hi ? hi : v); }
static inline i64 bit_length(i64 v) { i64 n = 0; while (v > 0) { v >>= 1; n++; } return n; }

static inline i64 interp(i64 z, const i64 *table) {
    /* exact._table_cdf for one value */
    z = clamp(z + Z_OFFSET, 0, Z_MAX);
    i64 i = z >> INTERP_BITS, lo = table[i];
    return lo + sar((table[i + 1] - lo) * (z & FRAC_MASK), INTERP_BITS);
}

static inline i64 cdf_at(i64 t, i64 top, i64 m0, i64 m1, i64 i1, i64 i2, i64 w, int sh, const i64 *table) {
    /* exact.Head.cdf for one pixel */
    if (t <= 0) return 0;
    if (t >= top) return CDF_ONE;
    i64 half = t * ACT_ONE - ACT_HALF;
    i64 f1 = interp(sar((half - m0) * i1, sh), table);
    i64 f2 = interp(sar((half - m1) * i2, sh), table);
    return sar((f1 - f2) * w, CDF_BITS) + f2;
}

static inline i64 probability(i64 f_lo, i64 f_mid, i64 f_hi) {
    /* exact.bit_probability for one decision */
    i64 d = f_hi - f_lo;
    if (d <= 0) return HALF_K;
    return clamp(floordiv((f_hi - f_mid) * ((i64)1 << PROB_BITS) + (d >> 1), d), K_MIN, K_MAX);
}

static inline int pop_bit(i64 k, const uint32_t *words, u64 *regs) {
    /* one Bernoulli(perfect=False) decision off the ANS stack */
    u64 state = regs[0];
    i64 cdf1 = (((65536 - k) * (ANS_TOTAL - 2)) >> 16) + 1;
    i64 q = (i64)(state & (u64)(ANS_TOTAL - 1));
    int bit;
    i64 start, freq;
    if (q >= cdf1) { bit = 1; start = cdf1; freq = ANS_TOTAL - cdf1; }
    else { bit = 0; start = 0; freq = cdf1; }
    state = (state >> 24) * (u64)freq + (u64)(q - start);
    if (state < ((u64)1 << 32) && regs[1] > 0) {
        regs[1] -= 1;
        state = (state << 32) | (u64)words[regs[1]];
    }
    regs[0] = state;
    return bit;
}

/* one decision off the ANS stack, for the few decisions outside the kernels */
int linr_pop_bit(i64 k, const uint32_t *words, u64 *regs) { return pop_bit(k, words, regs); }

static inline i64 mixed(i64 k, const i64 *t, const i64 *count, i64 i, i64 f) {
    /* the coder's k from the network's k and its table row (adapt.Adapt.refine) */
    i64 a = (t[i] * (CELL_ONE - f) + t[i + 1] * f) >> CELL_SHIFT;
    if (count[i] == COUNT_LIMIT && count[i + 1] == COUNT_LIMIT) k = (k + 3 * a + 2) >> 2;
    else k = (k + a + 1) >> 1;
    return clamp(k, K_MIN, K_MAX);
}

static void learn(i64 *t, i64 *count, i64 *sums, i64 *bit_sums) {
    /* adapt.Adapt.learn for one table row, from a batch's sums */
    for (int j = 0; j < BUCKETS; j++) {
        if (sums[j] > 0) {
            t[j] = (t[j] * (count[j] + PRIOR_WEIGHT) + bit_sums[j] * ((i64)1 << CELL_BITS))
                   / (count[j] + PRIOR_WEIGHT + sums[j]);
            count[j] = count[j] + sums[j] < COUNT_LIMIT ? count[j] + sums[j] : COUNT_LIMIT;
        }
        sums[j] = 0;
        bit_sums[j] = 0;
    }
}

typedef struct {          /* per-pixel parameters of the channel being decided */
    i64 *mu0, *mu1, *inv1, *inv2, *weight, *lo, *f_lo, *f_hi;
} Channel;

static void channel_params(const i64 *out, i64 cols, const i64 *anchor, const i64 *shift, i64 n, i64 C,
                           i64 bits, i64 c, const i64 *residual, const i64 *size, const i64 *inv_table,
                           const i64 *cdf_table, Channel *ch) {
    /* exact.Head.mean and exact.Head.distribution of channel c, per pixel */
    i64 pairs = C * (C - 1) / 2, lim = (i64)1 << (bits + ACT_BITS);
    for (i64 i = 0; i < n; i++) {
        const i64 *o = out + i * cols;
        i64 mean_shift = 0, scale_shift = 0;
        for (i64 j = 0; j < c; j++) {
            i64 col = c * (c - 1) / 2 + j;                          /* exact.mix_index */
            mean_shift += sar(clamp(o[5 * C + col], -MIX_LIMIT, MIX_LIMIT) * residual[i * C + j], ACT_BITS);
            scale_shift += sar(clamp(o[5 * C + pairs + col], -MIX_LIMIT, MIX_LIMIT) * size[i * C + j], ACT_BITS);
        }
        i64 base = anchor[i * C + c] * ACT_ONE, unit = (i64)1 << shift[i];
        ch->mu0[i] = clamp(base + clamp(o[c], -MEAN_LIMIT, MEAN_LIMIT) * unit + mean_shift, -lim, 2 * lim);
        ch->mu1[i] = clamp(base + clamp(o[4 * C + c], -MEAN_LIMIT, MEAN_LIMIT) * unit + mean_shift, -lim, 2 * lim);
        i64 l1 = clamp(o[C + 2 * c] + scale_shift, -LOGS_LIMIT, LOGS_LIMIT - 1);
        i64 l2 = clamp(o[C + 2 * c + 1] + scale_shift, -LOGS_LIMIT, LOGS_LIMIT - 1);
        ch->inv1[i] = inv_table[(l1 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)];
        ch->inv2[i] = inv_table[(l2 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)];
        ch->weight[i] = cdf_table[clamp(sar(o[3 * C + c], ACT_BITS - CDF_STEP_BITS) + CDF_SIZE / 2, 0, CDF_SIZE - 1)];
    }
}

static int code_planes(Channel *ch, const i64 *shift, i64 n, i64 C, const i64 *konst, i64 bits, i64 c,
                       const i64 *table, int adaptive, i64 *prob, i64 *count, const i64 *cells,
                       int from_image, const uint16_t *truth, uint8_t *out_bits, uint16_t *out_k,
                       i64 *row, const uint32_t *words, u64 *regs, i64 *budget) {
    /* oracle.decide_planes for channel c: the value is narrowed plane by plane,
     * MSB first. A coded plane's bits come from the image (truth, the encoder
     * records (bit, k) in rows *row.. of out_bits / out_k) or from the ANS
     * stream (the decoder, within *budget decisions). prob / count are the
     * adaptive tables (format 3 on), read as they stand at the plane's start
     * and learnt at its end. */
    i64 top = (i64)1 << bits, sums[BUCKETS] = {0}, bit_sums[BUCKETS] = {0};
    for (i64 i = 0; i < n; i++) { ch->lo[i] = 0; ch->f_lo[i] = 0; ch->f_hi[i] = CDF_ONE; }
    for (i64 b = bits - 1; b >= 0; b--) {
        i64 fixed = konst[b * C + c];
        if (fixed < 0 && n > 0 && !from_image) {
            if (regs[0] == 0) return EMPTY;
            *budget -= n;
            if (*budget < 0) return OVER_BUDGET;
        }
        i64 step = (i64)1 << b;
        i64 *t = prob + (adaptive ? (c * bits + b) * BUCKETS : 0);
        i64 *m = count + (adaptive ? (c * bits + b) * BUCKETS : 0);
        uint8_t *rb = out_bits + *row * n;
        uint16_t *rk = out_k + *row * n;
        for (i64 i = 0; i < n; i++) {
            i64 mid = ch->lo[i] + step;
            i64 fm = cdf_at(mid, top, ch->mu0[i], ch->mu1[i], ch->inv1[i], ch->inv2[i], ch->weight[i],
                            (int)(SHIFT0 + shift[i]), table);
            int bit;
            if (fixed < 0) {
                i64 k = probability(ch->f_lo[i], fm, ch->f_hi[i]);
                i64 j = cells[2 * k], f = cells[2 * k + 1];
                if (adaptive) k = mixed(k, t, m, j, f);
                if (from_image) {
                    bit = (truth[i * C + c] >> b) & 1;
                    rb[i] = (uint8_t)bit;
                    rk[i] = (uint16_t)k;
                } else {
                    bit = pop_bit(k, words, regs);
                }
                if (adaptive) {
                    sums[j] += CELL_ONE - f;
                    sums[j + 1] += f;
                    if (bit) { bit_sums[j] += CELL_ONE - f; bit_sums[j + 1] += f; }
                }
            } else {
                bit = (int)fixed;
            }
            if (bit) { ch->lo[i] = mid; ch->f_lo[i] = fm; }
            else ch->f_hi[i] = fm;
        }
        if (fixed < 0) {
            if (adaptive) learn(t, m, sums, bit_sums);
            if (from_image) *row += 1;
        }
    }
    return OK;
}

/* oracle.decide_chunk: every channel of a chunk of n pixels, each channel's
 * distribution from the trunk's outputs (n x cols) and the channels before it.
 * values (n x C) receives the chunk's values; with from_image, out_bits /
 * out_k (coded planes x n) the (bit, k) rows, channel by channel from the MSB.
 * Returns OK, EMPTY or OVER_BUDGET (the decoder), or -1 (out of memory). */
int linr_code_chunk(const i64 *out, i64 cols, const i64 *anchor, const i64 *shift, i64 n, i64 C, i64 bits,
                    const i64 *konst, const i64 *inv_table, const i64 *cdf_table, const i64 *table,
                    int adaptive, i64 *prob, i64 *count, const i64 *cells, int from_image,
                    const uint16_t *truth, uint8_t *out_bits, uint16_t *out_k, const uint32_t *words,
                    u64 *regs, i64 *budget, i64 *values) {
    i64 *mem = malloc(sizeof(i64) * (size_t)(n * (8 + 2 * C) + 1));
    if (!mem) return -1;
    Channel ch = {mem, mem + n, mem + 2 * n, mem + 3 * n, mem + 4 * n, mem + 5 * n, mem + 6 * n, mem + 7 * n};
    i64 *residual = mem + 8 * n, *size = residual + n * C, row = 0;
    for (i64 i = 0; i < n * C; i++) { residual[i] = 0; size[i] = 0; values[i] = 0; }
    int err = OK;
    for (i64 c = 0; c < C && err == OK; c++) {
        channel_params(out, cols, anchor, shift, n, C, bits, c, residual, size, inv_table, cdf_table, &ch);
        err = code_planes(&ch, shift, n, C, konst, bits, c, table, adaptive, prob, count, cells, from_image,
                          truth, out_bits, out_k, &row, words, regs, budget);
        if (err != OK) break;
        for (i64 i = 0; i < n; i++) {                 /* exact.Head.set_value */
            i64 r = ch.lo[i] * ACT_ONE - ch.mu0[i];
            values[i * C + c] = ch.lo[i];
            residual[i * C + c] = r;
            size[i * C + c] = clamp(bit_length((r < 0 ? -r : r) >> shift[i]) - ACT_BITS, -4, 8) * ACT_ONE;
        }
    }
    free(mem);
    return err;
}

/* oracle.pixel_context for a pass with neighbours (columns in the same order):
 * flat (h*w x C, uint8 or uint16) the decoded values, idx (m x n) the
 * neighbours' flat indices; feats (n x (m+1)C+6), anchor (n x C), shift (n). */
void linr_neighbour_features(const void *flat, int wide, i64 C, const i64 *idx, i64 m, i64 n, i64 bits,
                             const i64 *xs, const i64 *ys, i64 width, i64 height, i64 bits_col,
                             i64 level_col, i64 kind_col, i64 *feats, i64 *anchor, i64 *shift) {
    const uint8_t *f8 = flat;
    const uint16_t *f16 = flat;
    i64 F = (m + 1) * C + 6, vals[16 * 4];
    for (i64 i = 0; i < n; i++) {
        i64 g = 0, *row = feats + i * F;
        for (i64 c = 0; c < C; c++) {
            i64 s = 0;
            for (i64 j = 0; j < m; j++) {
                i64 at = idx[j * n + i] * C + c;
                i64 v = wide ? (i64)f16[at] : (i64)f8[at];
                vals[j * C + c] = v;
                if (j < NEAR) s += v;
            }
            i64 a = s >> 2;
            anchor[i * C + c] = a;
            for (i64 j = 0; j < m; j++) g += vals[j * C + c] > a ? vals[j * C + c] - a : a - vals[j * C + c];
        }
        i64 sh = bit_length(g / (m * C));
        shift[i] = sh;
        for (i64 j = 0; j < m; j++)
            for (i64 c = 0; c < C; c++)
                row[j * C + c] = clamp(sar((vals[j * C + c] - anchor[i * C + c]) * ACT_ONE, (int)sh),
                                       -DIFF_LIMIT, DIFF_LIMIT);
        for (i64 c = 0; c < C; c++)
            row[m * C + c] = sar((2 * anchor[i * C + c] + 1 - ((i64)1 << bits)) * ACT_ONE, (int)bits);
        i64 *tail = row + (m + 1) * C;
        tail[0] = sh * ACT_ONE / 16;
        tail[1] = bits_col;
        tail[2] = level_col;
        tail[3] = kind_col;
        tail[4] = (2 * xs[i] + 1) * ACT_ONE / width - ACT_ONE;
        tail[5] = (2 * ys[i] + 1) * ACT_ONE / height - ACT_ONE;
    }
}

/* setuptools builds this file as a Python extension module, which must name an
 * init function; it is never imported as one (kernels.py loads it with ctypes). */
#ifdef _WIN32
__declspec(dllexport)
#endif
void *PyInit__kernels(void) { return 0; }
