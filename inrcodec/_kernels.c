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
#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
#define FINE_K_MIN 8                    /* format 13: the clamp of the network's and the coded k */
#define FINE_K_MAX ((1 << PROB_BITS) - 8)
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
/* mixing.py (format 5) */
#define ST_LIMIT 3071
#define MIX_INPUTS 7
#define NET_INPUT 4
#define BIAS_INPUT 5
#define MATCH_INPUT 6
#define BIAS 256
#define MIX_WEIGHT_BITS 16
#define MIX_WEIGHT_LIMIT (1 << 24)
#define ERROR_SHIFT 22
#define RATE_LO 48
#define RATE_HI 192
#define RATE_HALF (1 << 16)
#define COUNTER_BITS 22
#define COUNT_MAX 255
#define ANCHOR_CELLS (63 * 16)
#define CHANNEL_CELLS (63 * 200)
#define TEXTURE_CELLS (17 * 48)
#define PLANE_CELLS (ANCHOR_CELLS + CHANNEL_CELLS + TEXTURE_CELLS)
/* mixing.py (format 8): weight sets by activity and two SSE stages */
#define WEIGHT_SETS 4
#define SSE_KNOTS 25
#define SSE_ROWS 31
/* mixing.py (format 9): the match counter, by the 4 nearest neighbours against the value's prefix */
#define MATCH_CELLS (3 * 81)
/* mixing.py (format 11): the second mixer's sets (confidence x neighbours agreeing), the final mixer */
#define SECOND_SETS 20
#define CONF_1 128
#define CONF_2 384
#define CONF_3 896
#define FINAL_LIMIT (1 << 18)
#define FINAL_RATE 48
/* exact.py: the relu16 trunk (format 7) */
#define NARROW_ACT_BITS 7
#define NARROW_WEIGHT_BITS 8
#define NARROW_TOP (8 << NARROW_ACT_BITS)

#define ACT_HALF (ACT_ONE >> 1)
#define SHIFT0 (ACT_BITS + INV_BITS - CDF_STEP_BITS - INTERP_BITS)
#define Z_OFFSET ((i64)(CDF_SIZE / 2) << INTERP_BITS)
#define Z_MAX ((i64)(CDF_SIZE - 1) << INTERP_BITS)
#define FRAC_MASK ((1 << INTERP_BITS) - 1)
#define ANS_TOTAL (1 << 24)
#define CELL_ONE (1 << CELL_WEIGHT_BITS)
#define CELL_SHIFT (CELL_WEIGHT_BITS + CELL_BITS - PROB_BITS)

enum { OK = 0, EMPTY = 1, OVER_BUDGET = 2 };
enum { PLAIN = 0, ADAPT = 1, MIX = 2, MIX_SSE = 3, MIX_MATCH = 4, MIX2 = 5, MIX_FINE = 6 };
/* how a decision's k is refined: formats 2, 3-4, 5-7, 8, 9-10, 11-12, 13 */

/* what kernels.py checks before it calls anything */
i64 linr_constant(int which) {
    static const i64 values[] = {ACT_BITS, CDF_BITS, CDF_STEP_BITS, CDF_SIZE, INV_BITS, INV_STEP_BITS,
                                 PROB_BITS, K_MIN, K_MAX, INTERP_BITS, MEAN_LIMIT, LOGS_LIMIT,
                                 MIX_LIMIT, BUCKETS, CELL_WEIGHT_BITS, CELL_BITS, COUNT_LIMIT,
                                 PRIOR_WEIGHT, DIFF_LIMIT, NEAR, OK, EMPTY, OVER_BUDGET, PLAIN, ADAPT, MIX,
                                 ST_LIMIT, MIX_INPUTS, NET_INPUT, BIAS_INPUT, BIAS, MIX_WEIGHT_BITS,
                                 MIX_WEIGHT_LIMIT, ERROR_SHIFT, RATE_LO, RATE_HI, RATE_HALF, COUNTER_BITS,
                                 COUNT_MAX, ANCHOR_CELLS, CHANNEL_CELLS, TEXTURE_CELLS,
                                 NARROW_ACT_BITS, NARROW_WEIGHT_BITS, NARROW_TOP, MIX_SSE, WEIGHT_SETS,
                                 SSE_KNOTS, SSE_ROWS, MATCH_INPUT, MATCH_CELLS, MIX_MATCH, MIX2, SECOND_SETS,
                                 CONF_1, CONF_2, CONF_3, FINAL_LIMIT, FINAL_RATE, MIX_FINE, FINE_K_MIN,
                                 FINE_K_MAX};
    return which >= 0 && which < (int)(sizeof values / sizeof values[0]) ? values[which] : -1;
}

static inline i64 sar(i64 x, int s) { return x >= 0 ? x >> s : ~((~x) >> s); }   /* floor(x / 2**s) */
static inline i64 floordiv(i64 a, i64 b) {                                      /* b > 0 */
    i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline i64 clamp(i64 v, i64 lo, i64 hi) { return v < lo ? lo : (v > hi ? hi : v); }
static inline i64 bit_length(i64 v) {
#if defined(__GNUC__) || defined(__clang__)
    return v > 0 ? 64 - __builtin_clzll((u64)v) : 0;
#else
    i64 n = 0; while (v > 0) { v >>= 1; n++; } return n;
#endif
}

static inline i64 qs(i64 e, i64 cap) {
    /* oracle.qs: a signed log bucket, 2 per octave above 3, clipped to +-cap;
     * written without branches (their outcome follows the image: mispredicted) */
    i64 s = -(i64)(e < 0), m = (e ^ s) - s;              /* s = 0 or -1, m = |e| */
    i64 l = bit_length(m | 4);                           /* >= 3 */
    i64 q = 2 * l - 2 + ((m >> (l - 2)) & 1);
    q = m < 4 ? m : q;
    q = q > cap ? cap : q;
    return (q ^ s) - s;
}

static inline i64 interp(i64 z, const int32_t *table) {
    /* exact._table_cdf for one value */
    z = clamp(z + Z_OFFSET, 0, Z_MAX);
    i64 i = z >> INTERP_BITS, lo = table[i];
    return lo + sar((table[i + 1] - lo) * (z & FRAC_MASK), INTERP_BITS);
}

static inline i64 cdf_at(i64 t, i64 top, i64 m0, i64 m1, i64 i1, i64 i2, i64 w, int sh, const int32_t *table) {
    /* exact.Head.cdf for one pixel */
    if (t <= 0) return 0;
    if (t >= top) return CDF_ONE;
    i64 half = t * ACT_ONE - ACT_HALF;
    i64 f1 = interp(sar((half - m0) * i1, sh), table);
    i64 f2 = interp(sar((half - m1) * i2, sh), table);
    return sar((f1 - f2) * w, CDF_BITS) + f2;
}

static inline i64 probability(i64 f_lo, i64 f_mid, i64 f_hi, i64 lo, i64 hi) {
    /* exact.bit_probability for one decision, clamped to [lo, hi] */
    i64 d = f_hi - f_lo;
    if (d <= 0) return HALF_K;
    return clamp(floordiv((f_hi - f_mid) * ((i64)1 << PROB_BITS) + (d >> 1), d), lo, hi);
}

static inline i64 bit_cdf(i64 k) {
    /* the start of symbol 1 (freq(0)) of a decision with P1 = k / 2**16 (RANS.md, "Bit") */
    return (((65536 - k) * (ANS_TOTAL - 2)) >> 16) + 1;
}

typedef struct { u64 state, left; } Ans;   /* the decoder's state and the words left below it */

static inline int pop(i64 k, const uint32_t *words, Ans *ans) {
    /* one Bernoulli(perfect=False) decision off the ANS stack; without branches on the bit
     * (it follows the image: a branch on it is mispredicted about as often as it is uncertain) */
    u64 state = ans->state;
    i64 cdf1 = bit_cdf(k);
    i64 q = (i64)(state & (u64)(ANS_TOTAL - 1));
    int bit = q >= cdf1;
    i64 one = -(i64)bit;                                  /* all ones when the bit is 1 */
    i64 start = cdf1 & one, freq = cdf1 + ((ANS_TOTAL - 2 * cdf1) & one);
    state = (state >> 24) * (u64)freq + (u64)(q - start);
    if (state < ((u64)1 << 32) && ans->left > 0) {
        ans->left -= 1;
        state = (state << 32) | (u64)words[ans->left];
    }
    ans->state = state;
    return bit;
}

/* decisions off the ANS stack outside the pixel kernels (the delta's integers, the flags,
 * the terminator): out[i] with P1 = k[i] / 2**16, in order */
void linr_pop_bits(const uint16_t *k, i64 n, const uint32_t *words, u64 *regs, uint8_t *out) {
    Ans ans = {regs[0], regs[1]};
    for (i64 i = 0; i < n; i++) out[i] = (uint8_t)pop(k[i], words, &ans);
    regs[0] = ans.state;
    regs[1] = ans.left;
}

/* The encoder's side: constriction's AnsCoder<u32, u64>.encode_reverse with Bernoulli(perfect=False)
 * models (formats/reference/RANS.md, "Encoding"), so that the decoder pops decisions 0 .. n-1 in
 * order: they are pushed n-1 first. regs[0] is the state, regs[1] the words pushed so far; words
 * has room for n more (a decision pushes at most one). k is 1 .. 65535 (entropy.py checks). */
void linr_push_bits(const uint8_t *bits, const uint16_t *k, i64 n, uint32_t *words, u64 *regs) {
    u64 x = regs[0], m = regs[1];
    for (i64 i = n - 1; i >= 0; i--) {
        u64 c = (u64)bit_cdf(k[i]);
        u64 start = bits[i] ? c : 0, freq = bits[i] ? ANS_TOTAL - c : c;
        if ((x >> 40) >= freq) { words[m++] = (uint32_t)x; x >>= 32; }
        x = (x / freq) * ANS_TOTAL + start + x % freq;
    }
    regs[0] = x;
    regs[1] = m;
}

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

typedef struct {          /* a pixel's parameters for the channel being decided and its interval */
    int32_t mu0, mu1, inv1, inv2, weight, lo, f_lo, f_hi;   /* |values| < 2**31: see channel_params */
} Pixel;


static void channel_params(const i64 *out, i64 cols, const i64 *anchor, const i64 *shift, i64 n, i64 C,
                           i64 bits, i64 c, const i64 *residual, const i64 *size, const i64 *inv_table,
                           const i64 *cdf_table, Pixel *px) {
    /* exact.Head.mean and exact.Head.distribution of channel c, per pixel. Each fits 32 bits:
     * |mu| <= 2 lim = 2**(bits + 13) <= 2**29, inv_table < 2**28, cdf_table <= 2**30 */
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
        Pixel *q = px + i;
        q->mu0 = (int32_t)clamp(base + clamp(o[c], -MEAN_LIMIT, MEAN_LIMIT) * unit + mean_shift, -lim, 2 * lim);
        q->mu1 = (int32_t)clamp(base + clamp(o[4 * C + c], -MEAN_LIMIT, MEAN_LIMIT) * unit + mean_shift, -lim, 2 * lim);
        i64 l1 = clamp(o[C + 2 * c] + scale_shift, -LOGS_LIMIT, LOGS_LIMIT - 1);
        i64 l2 = clamp(o[C + 2 * c + 1] + scale_shift, -LOGS_LIMIT, LOGS_LIMIT - 1);
        q->inv1 = (int32_t)inv_table[(l1 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)];
        q->inv2 = (int32_t)inv_table[(l2 + LOGS_LIMIT) >> (ACT_BITS - INV_STEP_BITS)];
        q->weight = (int32_t)cdf_table[clamp(sar(o[3 * C + c], ACT_BITS - CDF_STEP_BITS) + CDF_SIZE / 2, 0,
                                             CDF_SIZE - 1)];
    }
}

typedef struct {          /* the mixing state of format 5 (mixing.Mixer) and its tables */
    int32_t *prefix, *cells;  /* counters: p (2^-22 units) * 256 + m */
    int32_t *sse;             /* format 8: SSE cells, as counters (SSE_ROWS x SSE_KNOTS per plane) */
    int32_t *match;           /* format 9: match counters (MATCH_CELLS per plane) */
    i64 *weights, *seen;
    i64 *weights2, *final;    /* format 11: the second mixer's sets, the final mixer (2 a plane) */
    const i64 *context;
    const i64 *near;          /* format 9: per pixel and channel, the 4 nearest neighbours' values, 16 bits each */
    const int32_t *squash, *stretch, *rates;   /* mixing.squash / stretch / rates, as int32 */
    i64 *pic, *rq;        /* per pixel of the channel: the inter-channel predictor and error bucket */
} Mix;

static inline i64 counter_input(int32_t cell, const int32_t *stretch) {
    /* a counter's stretched probability; 0 before it has seen a decision */
    return (cell & 255) ? stretch[(cell >> 8) >> (COUNTER_BITS - PROB_BITS)] : 0;
}

static inline void count(int32_t *cell, i64 bit, const int32_t *rates) {
    i64 p = *cell >> 8, n = *cell & 255;          /* *cell >= 0: the shift is exact */
    p += sar(((bit << COUNTER_BITS) - p) * rates[n], 16);
    *cell = (int32_t)(p * 256 + (n < COUNT_MAX ? n + 1 : COUNT_MAX));
}

static inline i64 sse_read(const int32_t *row, i64 j, i64 f) {
    /* a row's probability at knot j + f / 256, in 2^-16 units */
    return ((i64)(row[j] >> 8) * (256 - f) + (i64)(row[j + 1] >> 8) * f) >> 14;
}

static void channel_context(Mix *mx, i64 n, i64 C, i64 c, const i64 *values) {
    /* the inter-channel predictor of channel c: its pd corrected by the earlier
     * channels' errors (value - pd) at the same pixel */
    for (i64 i = 0; i < n; i++) {
        const i64 *m = mx->context + i * C;
        i64 r = 0;
        if (c == 1) r = values[i * C] - ((m[0] >> 17) & 0x1FFFF);
        else if (c == 2) r = sar(values[i * C + 1] - ((m[1] >> 17) & 0x1FFFF)
                                 + values[i * C] - ((m[0] >> 17) & 0x1FFFF), 1);
        else if (c == 3) r = values[i * C + 2] - ((m[2] >> 17) & 0x1FFFF);
        mx->pic[i] = ((m[c] >> 17) & 0x1FFFF) + r;
        mx->rq[i] = qs(r, 12);
    }
}

/* match_context's digits by (agrees, bit) of the 4 neighbours: key bit t = neighbour 3 - t
 * agrees, bit 4 + t = its bit b (a neighbour that disagrees has digit 0 whatever its bit) */
static const uint8_t match_digits[256] = {
     0,  1,  3,  4,  9, 10, 12, 13, 27, 28, 30, 31, 36, 37, 39, 40,
     0,  2,  3,  5,  9, 11, 12, 14, 27, 29, 30, 32, 36, 38, 39, 41,
     0,  1,  6,  7,  9, 10, 15, 16, 27, 28, 33, 34, 36, 37, 42, 43,
     0,  2,  6,  8,  9, 11, 15, 17, 27, 29, 33, 35, 36, 38, 42, 44,
     0,  1,  3,  4, 18, 19, 21, 22, 27, 28, 30, 31, 45, 46, 48, 49,
     0,  2,  3,  5, 18, 20, 21, 23, 27, 29, 30, 32, 45, 47, 48, 50,
     0,  1,  6,  7, 18, 19, 24, 25, 27, 28, 33, 34, 45, 46, 51, 52,
     0,  2,  6,  8, 18, 20, 24, 26, 27, 29, 33, 35, 45, 47, 51, 53,
     0,  1,  3,  4,  9, 10, 12, 13, 54, 55, 57, 58, 63, 64, 66, 67,
     0,  2,  3,  5,  9, 11, 12, 14, 54, 56, 57, 59, 63, 65, 66, 68,
     0,  1,  6,  7,  9, 10, 15, 16, 54, 55, 60, 61, 63, 64, 69, 70,
     0,  2,  6,  8,  9, 11, 15, 17, 54, 56, 60, 62, 63, 65, 69, 71,
     0,  1,  3,  4, 18, 19, 21, 22, 54, 55, 57, 58, 72, 73, 75, 76,
     0,  2,  3,  5, 18, 20, 21, 23, 54, 56, 57, 59, 72, 74, 75, 77,
     0,  1,  6,  7, 18, 19, 24, 25, 54, 55, 60, 61, 72, 73, 78, 79,
     0,  2,  6,  8, 18, 20, 24, 26, 54, 56, 60, 62, 72, 74, 78, 80,
};

#define LANES 0x0001000100010001ULL
static inline u64 agreeing(u64 near, i64 lo, i64 b) {
    /* bit 0 of each 16-bit lane: that nearest neighbour's bits above b are the value's prefix.
     * The 4 lanes are compared at once: a lane of (near ^ lo) above b is zero where it agrees. */
    u64 hi = (near ^ ((u64)lo * LANES)) & ((0xFFFFULL << (b + 1) & 0xFFFF) * LANES);
    u64 nonzero = ((hi & 0x7FFF * LANES) + 0x7FFF * LANES) | hi;      /* bit 15 of a lane: nonzero */
    return ~nonzero >> 15 & LANES;
}

static inline i64 match_context(u64 near, i64 lo, i64 b) {
    /* format 9: for each of the 4 nearest neighbours, 0 where its bits above b differ from
     * the value's prefix, else 1 + its bit b; in base 3, the first neighbour (the highest 16
     * bits of near) most significant */
    u64 agree = agreeing(near, lo, b), bit = near >> b & LANES;
    u64 key = agree | bit << 4;                     /* lane t: bit 0 agrees, bit 4 its bit b */
    return match_digits[(key | key >> 15 | key >> 30 | key >> 45) & 0xFF];
}

static inline __attribute__((always_inline)) int
code_planes_as(Pixel *px, const i64 *shift, i64 n, i64 C, const i64 *konst, i64 bits, i64 c,
               const int32_t *table, const int mode, i64 *prob, i64 *count_t, const i64 *cells, Mix *mx,
               const int from_image, const uint16_t *truth, uint8_t *out_bits, uint16_t *out_k,
               i64 *row, const uint32_t *words, u64 *regs, i64 *budget) {
    /* oracle.decide_planes for channel c: the value is narrowed plane by plane,
     * MSB first. A coded plane's bits come from the image (truth, the encoder
     * records (bit, k) in rows *row.. of out_bits / out_k) or from the ANS
     * stream (the decoder, within *budget decisions). The network's k is used
     * as it is (PLAIN, format 2), refined by the adaptive tables prob / count
     * (ADAPT, formats 3-4: read as they stand at the plane's start, learnt at
     * its end), or mixed with the context counters (MIX, format 5: learnt after
     * every decision; MIX2, format 11: mixed twice, and not learnt from a decision settled
     * at the clamp; MIX_FINE, format 13: the same with the network's and the coded k clamped
     * to [FINE_K_MIN, FINE_K_MAX] instead of [K_MIN, K_MAX]). */
    const i64 k_lo = mode == MIX_FINE ? FINE_K_MIN : K_MIN, k_hi = mode == MIX_FINE ? FINE_K_MAX : K_MAX;
    i64 top = (i64)1 << bits, sums[BUCKETS] = {0}, bit_sums[BUCKETS] = {0};
    for (i64 i = 0; i < n; i++) { px[i].lo = 0; px[i].f_lo = 0; px[i].f_hi = (int32_t)CDF_ONE; }
    for (i64 b = bits - 1; b >= 0; b--) {
        i64 fixed = konst[b * C + c];
        if (fixed < 0 && n > 0 && !from_image) {
            if (regs[0] == 0) return EMPTY;
            *budget -= n;
            if (*budget < 0) return OVER_BUDGET;
        }
        Ans ans = {regs[0], regs[1]};       /* in registers for the plane (regs may alias the arrays) */
        i64 step = (i64)1 << b, cb = c * bits + b;
        i64 *t = prob + (mode == ADAPT ? cb * BUCKETS : 0);
        i64 *m = count_t + (mode == ADAPT ? cb * BUCKETS : 0);
        i64 *w = 0, *w2s = 0, *fw = 0, lr = 0, node = 0;
        int32_t *plane = 0, *prefix = 0, *sse = 0, *match = 0;
        if (mode >= MIX) {
            w = mx->weights + cb * MIX_INPUTS * (mode >= MIX_SSE ? WEIGHT_SETS : 1);
            if (mode >= MIX_SSE) sse = mx->sse + cb * SSE_ROWS * SSE_KNOTS;   /* formats 5-7 have none */
            if (mode >= MIX_MATCH) match = mx->match + cb * MATCH_CELLS;
            if (mode >= MIX2) { w2s = mx->weights2 + cb * SECOND_SETS * MIX_INPUTS; fw = mx->final + cb * 2; }
            plane = mx->cells + cb * PLANE_CELLS;
            prefix = mx->prefix + c * top;
            lr = RATE_LO + (RATE_HI - RATE_LO) * RATE_HALF / (RATE_HALF + mx->seen[cb]);
            node = (i64)1 << (bits - 1 - b);
        }
        uint8_t *rb = out_bits + *row * n;
        uint16_t *rk = out_k + *row * n;
        for (i64 i = 0; i < n; i++) {
            Pixel *q = px + i;
            i64 mid = q->lo + step;
            i64 fm = cdf_at(mid, top, q->mu0, q->mu1, q->inv1, q->inv2, q->weight,
                            (int)(SHIFT0 + shift[i]), table);
            i64 bit;
            if (fixed < 0) {
                i64 k = probability(q->f_lo, fm, q->f_hi, k_lo, k_hi);
                i64 j = 0, f = 0, p = 0, x[MIX_INPUTS], *ws = w, *w2 = 0, st1 = 0, st2 = 0, p1 = 0, p2 = 0;
                int32_t *cell[5], *s1 = 0, *s2 = 0;
                int counters = mode >= MIX_MATCH ? 5 : 4;
                if (mode == ADAPT) {
                    j = cells[2 * k]; f = cells[2 * k + 1];
                    k = mixed(k, t, m, j, f);
                } else if (mode >= MIX) {
                    i64 ctx = mx->context[i * C + c];
                    i64 a = ctx & 0x1FFFF, pd = (ctx >> 17) & 0x1FFFF, qa = (ctx >> 34) & 15;
                    i64 tex = (ctx >> 38) & 15, kind = (ctx >> 42) & 3;
                    cell[0] = prefix + (node | (q->lo >> (b + 1)));
                    i64 anchor_q = qs(a - mid, 31);    /* format 8's SSE row takes it clipped to +-7 */
                    cell[1] = plane + (anchor_q + 31) * 16 + qa;
                    cell[2] = plane + ANCHOR_CELLS + (qs(mx->pic[i] - mid, 31) + 31) * 200
                              + (mx->rq[i] + 12) * 8 + (qa >> 1);
                    cell[3] = plane + ANCHOR_CELLS + CHANNEL_CELLS + (qs(pd - mid, 8) + 8) * 48 + tex * 3 + kind;
                    i64 dot = 0;
                    x[MATCH_INPUT] = 0;                     /* formats 5-8 have no match counter */
                    if (mode >= MIX_MATCH) {
                        cell[4] = match + kind * 81 + match_context((u64)mx->near[i * C + c], q->lo, b);
                        x[MATCH_INPUT] = counter_input(*cell[4], mx->stretch);
                    }
                    for (int q = 0; q < 4; q++) x[q] = counter_input(*cell[q], mx->stretch);
                    x[NET_INPUT] = mx->stretch[k];
                    x[BIAS_INPUT] = BIAS;
                    if (mode >= MIX_SSE) ws = w + (qa >> 2) * MIX_INPUTS;
                    for (int q = 0; q < MIX_INPUTS; q++) dot += ws[q] * x[q];
                    i64 st = clamp(sar(dot, MIX_WEIGHT_BITS), -ST_LIMIT, ST_LIMIT);
                    p = p1 = mx->squash[st + ST_LIMIT];
                    if (mode >= MIX2) {             /* format 11: the second mixer, then the final one */
                        i64 xn = x[NET_INPUT] < 0 ? -x[NET_INPUT] : x[NET_INPUT];
                        u64 agree = agreeing((u64)mx->near[i * C + c], q->lo, b);
                        i64 dot2 = 0, set = ((xn >= CONF_1) + (xn >= CONF_2) + (xn >= CONF_3)) * 5
                                  + (i64)((agree + (agree >> 16) + (agree >> 32) + (agree >> 48)) & 7);
                        w2 = w2s + set * MIX_INPUTS;
                        for (int q = 0; q < MIX_INPUTS; q++) dot2 += w2[q] * x[q];
                        st1 = st;
                        st2 = clamp(sar(dot2, MIX_WEIGHT_BITS), -ST_LIMIT, ST_LIMIT);
                        p2 = mx->squash[st2 + ST_LIMIT];
                        st = clamp(sar(fw[0] * st1 + fw[1] * st2, MIX_WEIGHT_BITS), -ST_LIMIT, ST_LIMIT);
                        p = mx->squash[st + ST_LIMIT];
                    }
                    k = clamp(p, k_lo, k_hi);
                    if (mode >= MIX_SSE) {          /* two SSE rows, read between knots j and j + 1 */
                        j = (st + ST_LIMIT + 1) >> 8;
                        f = (st + ST_LIMIT + 1) & 255;
                        s1 = sse + qa * SSE_KNOTS;
                        s2 = sse + (16 + clamp(anchor_q, -7, 7) + 7) * SSE_KNOTS;   /* = qs(a - mid, 7) */
                        k = clamp((2 * p + sse_read(s1, j, f) + sse_read(s2, j, f)) >> 2, k_lo, k_hi);
                    }
                }
                if (from_image) {
                    bit = (truth[i * C + c] >> b) & 1;
                    rb[i] = (uint8_t)bit;
                    rk[i] = (uint16_t)k;
                } else {
                    bit = pop(k, words, &ans);
                }
                if (mode == ADAPT) {
                    sums[j] += CELL_ONE - f;
                    sums[j + 1] += f;
                    if (bit) { bit_sums[j] += CELL_ONE - f; bit_sums[j + 1] += f; }
                } else if (mode >= MIX2 && (bit ? k : (1 << PROB_BITS) - k) >= k_hi) {
                    /* format 11: coded at the clamp and as expected: nothing to learn (the mix
                     * lies past the clamp already; learning drove it further) */
                } else if (mode >= MIX) {
                    i64 err = ((bit << PROB_BITS) - p1) * lr;      /* each mixer from its own mix */
                    for (int q = 0; q < MIX_INPUTS; q++)
                        ws[q] = clamp(ws[q] + sar(x[q] * err, ERROR_SHIFT), -MIX_WEIGHT_LIMIT, MIX_WEIGHT_LIMIT);
                    if (mode >= MIX2) {
                        i64 err2 = ((bit << PROB_BITS) - p2) * lr, err3 = ((bit << PROB_BITS) - p) * FINAL_RATE;
                        for (int q = 0; q < MIX_INPUTS; q++)
                            w2[q] = clamp(w2[q] + sar(x[q] * err2, ERROR_SHIFT), -MIX_WEIGHT_LIMIT, MIX_WEIGHT_LIMIT);
                        fw[0] = clamp(fw[0] + sar(st1 * err3, ERROR_SHIFT), 0, FINAL_LIMIT);
                        fw[1] = clamp(fw[1] + sar(st2 * err3, ERROR_SHIFT), 0, FINAL_LIMIT);
                    }
                    for (int q = 0; q < counters; q++) count(cell[q], bit, mx->rates);
                    if (mode >= MIX_SSE) {          /* each row learns at the knot nearer s */
                        count(s1 + j + (f >> 7), bit, mx->rates);
                        count(s2 + j + (f >> 7), bit, mx->rates);
                    }
                }
            } else {
                bit = fixed;
            }
            if (bit) { q->lo = (int32_t)mid; q->f_lo = (int32_t)fm; }
            else q->f_hi = (int32_t)fm;
        }
        regs[0] = ans.state;
        regs[1] = ans.left;
        if (fixed < 0) {
            if (mode == ADAPT) learn(t, m, sums, bit_sums);
            if (mode >= MIX) mx->seen[cb] += n;
            if (from_image) *row += 1;
        }
    }
    return OK;
}

static int code_planes(Pixel *px, const i64 *shift, i64 n, i64 C, const i64 *konst, i64 bits, i64 c,
                       const int32_t *table, int mode, i64 *prob, i64 *count_t, const i64 *cells, Mix *mx,
                       int from_image, const uint16_t *truth, uint8_t *out_bits, uint16_t *out_k,
                       i64 *row, const uint32_t *words, u64 *regs, i64 *budget) {
    /* code_planes_as compiled once per (mode, side): the loop carries no test of either */
#define AS(M, F) code_planes_as(px, shift, n, C, konst, bits, c, table, M, prob, count_t, cells, mx, F, \
                                truth, out_bits, out_k, row, words, regs, budget)
    switch (mode * 2 + (from_image != 0)) {
    case PLAIN * 2: return AS(PLAIN, 0);
    case PLAIN * 2 + 1: return AS(PLAIN, 1);
    case ADAPT * 2: return AS(ADAPT, 0);
    case ADAPT * 2 + 1: return AS(ADAPT, 1);
    case MIX * 2: return AS(MIX, 0);
    case MIX * 2 + 1: return AS(MIX, 1);
    case MIX_SSE * 2: return AS(MIX_SSE, 0);
    case MIX_SSE * 2 + 1: return AS(MIX_SSE, 1);
    case MIX_MATCH * 2: return AS(MIX_MATCH, 0);
    case MIX_MATCH * 2 + 1: return AS(MIX_MATCH, 1);
    case MIX2 * 2: return AS(MIX2, 0);
    case MIX2 * 2 + 1: return AS(MIX2, 1);
    case MIX_FINE * 2: return AS(MIX_FINE, 0);
    default: return AS(MIX_FINE, 1);
    }
#undef AS
}

/* oracle.decide_chunk: every channel of a chunk of n pixels, each channel's
 * distribution from the trunk's outputs (n x cols) and the channels before it.
 * values (n x C) receives the chunk's values; with from_image, out_bits /
 * out_k (coded planes x n) the (bit, k) rows, channel by channel from the MSB.
 * mode MIX reads context (n x C, mixing.pack_context) and updates the mixing
 * state. Returns OK, EMPTY or OVER_BUDGET (the decoder), or -1 (out of memory). */
int linr_code_chunk(const i64 *out, i64 cols, const i64 *anchor, const i64 *shift, i64 n, i64 C, i64 bits,
                    const i64 *konst, const i64 *inv_table, const i64 *cdf_table, const int32_t *table,
                    int mode, i64 *prob, i64 *count_t, const i64 *cells, const i64 *context, const i64 *near,
                    int32_t *prefix, int32_t *mix_cells, int32_t *sse, int32_t *match, i64 *weights, i64 *seen,
                    i64 *weights2, i64 *final, const int32_t *squash,
                    const int32_t *stretch, const int32_t *rates, int from_image,
                    const uint16_t *truth, uint8_t *out_bits, uint16_t *out_k, const uint32_t *words,
                    u64 *regs, i64 *budget, i64 *values) {
    i64 *mem = malloc(sizeof(i64) * (size_t)(n * (2 + 2 * C) + 1));
    Pixel *px = malloc(sizeof(Pixel) * (size_t)(n + 1));
    if (!mem || !px) { free(mem); free(px); return -1; }
    Mix mx = {prefix, mix_cells, sse, match, weights, seen, weights2, final, context, near, squash, stretch, rates,
              mem, mem + n};
    i64 *residual = mem + 2 * n, *size = residual + n * C, row = 0;
    for (i64 i = 0; i < n * C; i++) { residual[i] = 0; size[i] = 0; values[i] = 0; }
    int err = OK;
    for (i64 c = 0; c < C && err == OK; c++) {
        channel_params(out, cols, anchor, shift, n, C, bits, c, residual, size, inv_table, cdf_table, px);
        if (mode >= MIX) channel_context(&mx, n, C, c, values);
        err = code_planes(px, shift, n, C, konst, bits, c, table, mode, prob, count_t, cells, &mx, from_image,
                          truth, out_bits, out_k, &row, words, regs, budget);
        if (err != OK) break;
        for (i64 i = 0; i < n; i++) {                 /* exact.Head.set_value */
            i64 r = (i64)px[i].lo * ACT_ONE - px[i].mu0;
            values[i * C + c] = px[i].lo;
            residual[i * C + c] = r;
            size[i * C + c] = clamp(bit_length((r < 0 ? -r : r) >> shift[i]) - ACT_BITS, -4, 8) * ACT_ONE;
        }
    }
    free(mem);
    free(px);
    return err;
}

static inline i64 absd(i64 a, i64 b) { return a > b ? a - b : b - a; }

static i64 mix_context(const i64 *v, i64 C, i64 m, i64 a, i64 kind) {
    /* mixing.pack_context of one channel: v[j * C] is neighbour j (the 4 nearest
     * first, (0, 3) and (1, 2) opposite), a their mean. The activity bucket, the
     * directional predictor pd (the mean of the opposite pair across the weaker
     * gradient when it is less than half the other) and the texture (which
     * nearest lie above a). */
    i64 d03 = absd(v[0], v[3 * C]), d12 = absd(v[C], v[2 * C]), act = d03 + d12, tex = 0, pd = a;
    for (i64 j = NEAR; j < m; j++) act += absd(v[j * C], a) >> 1;
    i64 qa = bit_length(act >> 1);
    if (qa > 15) qa = 15;
    if (2 * d03 < d12) pd = (v[0] + v[3 * C]) >> 1;
    else if (2 * d12 < d03) pd = (v[C] + v[2 * C]) >> 1;
    for (i64 j = 0; j < NEAR; j++) tex |= (i64)(v[j * C] > a) << j;
    return a | pd << 17 | qa << 34 | tex << 38 | kind << 42;
}

/* oracle.pixel_context for a pass with neighbours (columns in the same order):
 * flat (h*w x C, uint8 or uint16) the decoded values, idx (m x n) the
 * neighbours' flat indices; feats (n x (m+1)C+6), anchor (n x C), shift (n),
 * context (n x C) the mixing contexts (format 5), near (n x C) the 4 nearest
 * neighbours' values packed for the match counter (format 9). */
void linr_neighbour_features(const void *flat, int wide, i64 C, const i64 *idx, i64 m, i64 n, i64 bits,
                             const i64 *xs, const i64 *ys, i64 width, i64 height, i64 bits_col,
                             i64 level_col, i64 kind_col, i64 kind, i64 *feats, i64 *anchor, i64 *shift,
                             i64 *context, i64 *near) {
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
            context[i * C + c] = mix_context(vals + c, C, m, a, kind);
            u64 nb = 0;                 /* format 9: the 4 nearest, 16 bits each, the first highest */
            for (i64 j = 0; j < NEAR; j++) nb = nb << 16 | (u64)vals[j * C + c];
            near[i * C + c] = (i64)nb;
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

/* exact.trunk's epilogue of a layer, in place over n rows of m: y = floor(y + b), then clipped
 * to [0, top] when relu. numpy's `y += b; floor; clip` are three passes over the block; this is
 * one, with AVX2 where the CPU has it (the same IEEE additions, an exact floor, and clips of
 * integers: the same values). Returns 0, having done nothing, where it has no AVX2: numpy's
 * passes, vectorised by numpy itself, are faster than scalar C there. */
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2")))
static void epilogue_avx2(double *y, const double *b, i64 n, i64 m, int relu, double top) {
    const __m256d zero = _mm256_setzero_pd(), hi = _mm256_set1_pd(top);
    for (i64 i = 0; i < n; i++) {
        double *row = y + i * m;
        i64 j = 0;
        for (; j + 4 <= m; j += 4) {
            __m256d v = _mm256_floor_pd(_mm256_add_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(b + j)));
            if (relu) v = _mm256_min_pd(_mm256_max_pd(v, zero), hi);
            _mm256_storeu_pd(row + j, v);
        }
        for (; j < m; j++) {
            __m128d v = _mm_set_sd(row[j] + b[j]);
            v = _mm_floor_sd(v, v);
            if (relu) v = _mm_min_sd(_mm_max_sd(v, _mm_setzero_pd()), _mm_set_sd(top));
            row[j] = _mm_cvtsd_f64(v);
        }
    }
}
#define HAVE_EPILOGUE_AVX2 1
#endif

int linr_trunk_epilogue(double *y, const double *b, i64 n, i64 m, int relu, double top) {
#ifdef HAVE_EPILOGUE_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        epilogue_avx2(y, b, n, m, relu, top);
        return 1;
    }
#endif
    (void)y; (void)b; (void)n; (void)m; (void)relu; (void)top;
    return 0;
}

/* The relu16 trunk (format 7, exact.py's NARROW_*): int16 features, activations and weights,
 * int32 sums. Every value and sum is an integer that fits (exact.py's assertion), so each path
 * below gives the same integers: plain C, AVX2 (pmaddwd: 2 rows at once, 48 outputs a block)
 * and AVX-512 VNNI (vpdpwssd: 4 rows, 96 outputs). A group of rows goes through every layer
 * before the next group (no array between layers).
 *   feats: n x F int64 (12 fractional bits), shifted down to NARROW_ACT_BITS here;
 *   wp[l]: layer l's weights as pairs of inputs, [k_l / 2][m_l][2] int16, k_0 = F rounded up to
 *          even, k_l = m_(l-1); m_l a multiple of 16, padded outputs' weights and biases 0;
 *   bias[l]: m_l int32 (b << 1: NARROW_SUM_BITS fractional bits);
 *   hidden y = clip(s >> NARROW_WEIGHT_BITS, 0, NARROW_TOP); out: n x O int64, s >> OUT_SHIFT.
 * level: 0 the best SIMD path this CPU has, 1 plain C, 2 AVX2, 3 VNNI. Returns the level used, or 0
 * when the one asked for is missing (nothing written). */
#define NARROW_OUT_SHIFT (NARROW_ACT_BITS + NARROW_WEIGHT_BITS - ACT_BITS)
#define NARROW_FEATURE_SHIFT (ACT_BITS - NARROW_ACT_BITS)
#define NARROW_MAX_M 256
#include <string.h>

typedef struct {
    const i64 *feats; i64 n, F; int layers;
    const int16_t *const *wp; const int32_t *const *bias; const int *m;
    i64 O; i64 *out;
} Trunk16;

/* rows r0 .. r0 + rows - 1 of the features as int16, k_0 wide (the padding column 0) */
static void narrow_rows(const Trunk16 *t, i64 r0, int rows, int k0, int16_t *dst) {
    for (int r = 0; r < rows; r++) {
        const i64 *f = t->feats + (r0 + r) * t->F;
        for (int q = 0; q < k0; q++) dst[r * k0 + q] = q < t->F ? (int16_t)sar(f[q], NARROW_FEATURE_SHIFT) : 0;
    }
}

static inline int32_t relu16(int32_t s) {
    int32_t v = (int32_t)sar(s, NARROW_WEIGHT_BITS);
    return v < 0 ? 0 : (v > NARROW_TOP ? NARROW_TOP : v);
}

static void store_out(const Trunk16 *t, i64 row, const int32_t *sums) {
    for (i64 j = 0; j < t->O; j++) t->out[row * t->O + j] = sar(sums[j], NARROW_OUT_SHIFT);
}

/* One layer of a group of `rows` rows (at most 4): inputs `in` (rows x k int16), hidden
 * layers' activations to dst (rows x m int16), the last layer's sums to sums (4 x NARROW_MAX_M). */
typedef void (*Layer16)(const Trunk16 *t, int l, const int16_t *in, int k, int rows, int last,
                        int16_t *dst, int32_t (*sums)[NARROW_MAX_M]);

/* every layer of each group of `group` rows in turn: nothing between the layers leaves the cache */
static void trunk16_groups(const Trunk16 *t, int group, Layer16 layer) {
    int k0 = (int)((t->F + 1) & ~(i64)1);
    int16_t x0[4 * NARROW_MAX_M], buf[2][4 * NARROW_MAX_M];
    int32_t sums[4][NARROW_MAX_M];
    for (i64 i = 0; i < t->n; i += group) {
        int rows = t->n - i < group ? (int)(t->n - i) : group;
        narrow_rows(t, i, rows, k0, x0);
        const int16_t *in = x0;
        int k = k0;
        for (int l = 0; l < t->layers; l++) {
            int last = l == t->layers - 1;
            layer(t, l, in, k, rows, last, buf[l & 1], sums);
            if (last) {
                for (int r = 0; r < rows; r++) store_out(t, i + r, sums[r]);
            } else {
                in = buf[l & 1];
                k = t->m[l];
            }
        }
    }
}

static void layer16_plain(const Trunk16 *t, int l, const int16_t *in, int k, int rows, int last,
                          int16_t *dst, int32_t (*sums)[NARROW_MAX_M]) {
    int m = t->m[l];
    for (int r = 0; r < rows; r++) {
        int32_t *s = sums[r];
        for (int j = 0; j < m; j++) s[j] = t->bias[l][j];
        for (int q = 0; q < k; q++) {               /* input q's weights: every other int16 */
            const int16_t *w = t->wp[l] + (i64)(q >> 1) * m * 2 + (q & 1);
            int32_t x = in[r * k + q];
            for (int j = 0; j < m; j++) s[j] += x * w[2 * j];
        }
        if (!last)
            for (int j = 0; j < m; j++) dst[r * m + j] = (int16_t)relu16(s[j]);
    }
}

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
static inline int32_t pair_at(const int16_t *row, int q) {        /* inputs 2q and 2q + 1 */
    int32_t v;
    memcpy(&v, row + 2 * q, sizeof v);
    return v;
}

/* AVX2 pmaddwd: 2 rows, blocks of 48 outputs (12 sums registers of 16) */
__attribute__((target("avx2")))
static void layer16_avx2(const Trunk16 *t, int l, const int16_t *in, int k, int rows, int last,
                         int16_t *dst, int32_t (*sums)[NARROW_MAX_M]) {
    enum { R = 2, V = 6 };
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(NARROW_TOP);
    int m = t->m[l];
    for (int j0 = 0; j0 < m; j0 += 8 * V) {
        int v = (m - j0) / 8 < V ? (m - j0) / 8 : V;
        __m256i acc[R][V];
        for (int r = 0; r < R; r++)
            for (int u = 0; u < v; u++) acc[r][u] = _mm256_loadu_si256((const __m256i *)(t->bias[l] + j0 + 8 * u));
        for (int q = 0; q < k / 2; q++) {
            const int16_t *wq = t->wp[l] + ((i64)q * m + j0) * 2;
            __m256i xb[R];
            for (int r = 0; r < R; r++) xb[r] = _mm256_set1_epi32(r < rows ? pair_at(in + r * k, q) : 0);
            for (int u = 0; u < v; u++) {
                __m256i w = _mm256_loadu_si256((const __m256i *)(wq + 16 * u));
                for (int r = 0; r < R; r++) acc[r][u] = _mm256_add_epi32(acc[r][u], _mm256_madd_epi16(xb[r], w));
            }
        }
        for (int r = 0; r < R; r++)
            for (int u = 0; u < v; u++) {
                if (last) {
                    _mm256_storeu_si256((__m256i *)(sums[r] + j0 + 8 * u), acc[r][u]);
                } else {            /* floor shift, clip, then 8 int16 from the low lanes */
                    __m256i y = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc[r][u], NARROW_WEIGHT_BITS), zero), top);
                    __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(y, y), 0x08);
                    _mm_storeu_si128((__m128i *)(dst + r * m + j0 + 8 * u), _mm256_castsi256_si128(p));
                }
            }
    }
}

/* AVX-512 VNNI vpdpwssd: 4 rows, blocks of 96 outputs (24 sums registers of 32) */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void layer16_vnni(const Trunk16 *t, int l, const int16_t *in, int k, int rows, int last,
                         int16_t *dst, int32_t (*sums)[NARROW_MAX_M]) {
    enum { R = 4, V = 6 };
    const __m512i zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(NARROW_TOP);
    int m = t->m[l];
    for (int j0 = 0; j0 < m; j0 += 16 * V) {
        int v = (m - j0) / 16 < V ? (m - j0) / 16 : V;
        __m512i acc[R][V];
        for (int r = 0; r < R; r++)
            for (int u = 0; u < v; u++) acc[r][u] = _mm512_loadu_si512(t->bias[l] + j0 + 16 * u);
        for (int q = 0; q < k / 2; q++) {
            const int16_t *wq = t->wp[l] + ((i64)q * m + j0) * 2;
            __m512i xb[R];
            for (int r = 0; r < R; r++) xb[r] = _mm512_set1_epi32(r < rows ? pair_at(in + r * k, q) : 0);
            for (int u = 0; u < v; u++) {
                __m512i w = _mm512_loadu_si512(wq + 32 * u);
                for (int r = 0; r < R; r++) acc[r][u] = _mm512_dpwssd_epi32(acc[r][u], xb[r], w);
            }
        }
        for (int r = 0; r < R; r++)
            for (int u = 0; u < v; u++) {
                if (last) {
                    _mm512_storeu_si512(sums[r] + j0 + 16 * u, acc[r][u]);
                } else {
                    __m512i y = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(acc[r][u], NARROW_WEIGHT_BITS), zero), top);
                    _mm256_storeu_si256((__m256i *)(dst + r * m + j0 + 16 * u), _mm512_cvtepi32_epi16(y));
                }
            }
    }
}
#define HAVE_TRUNK16_SIMD 1
#endif

int linr_trunk16(const i64 *feats, i64 n, i64 F, int layers, const int16_t *const *wp,
                 const int32_t *const *bias, const int *m, i64 O, i64 *out, int level) {
    Trunk16 t = {feats, n, F, layers, wp, bias, m, O, out};
    for (int l = 0; l < layers; l++)
        if (m[l] % 16 || m[l] > NARROW_MAX_M) return 0;
    if (F > NARROW_MAX_M || O > m[layers - 1]) return 0;
#ifdef HAVE_TRUNK16_SIMD
    __builtin_cpu_init();
    int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    int avx2 = __builtin_cpu_supports("avx2");
    if ((level == 0 || level == 3) && vnni) { trunk16_groups(&t, 4, layer16_vnni); return 3; }
    if ((level == 0 || level == 2) && avx2) { trunk16_groups(&t, 2, layer16_avx2); return 2; }
#endif
    if (level == 1) { trunk16_groups(&t, 1, layer16_plain); return 1; }  /* slower than float64 BLAS: tests only */
    return 0;
}

/* ---- The encoder's delta fit on the CPU (cpu_fit.py): float32, libm. Nothing a decoder
 * computes goes through here: a fit only chooses the delta, whose integers the file carries.
 * The layers' matrix products are numpy's (BLAS); these are the passes between them, fused,
 * which as torch's small operations took most of a fit step's time. */

/* relu16's grid in real units: steps of 2^-NARROW_ACT_BITS in [0, NARROW_TOP] */
#define FIT_GRID_SCALE ((float)(1 << NARROW_ACT_BITS))
#define FIT_GRID_TOP ((float)(NARROW_TOP >> NARROW_ACT_BITS))

/* z (n x m) += b, then the activation in place; pass[i] = 1 where its gradient passes:
 * relu16 floors onto its grid in [0, 8] (network._FloorGrid: passes for 0 <= t <= 8), relu is
 * hardtanh(0, top) (passes for 0 < t < top; top: exact.ACT_LIMIT in real units) */
void linr_fit_activate(float *z, const float *b, i64 n, i64 m, int narrow, float top, uint8_t *pass) {
    /* two plain loops without calls or branches, so that the compiler vectorises them */
    for (i64 i = 0; i < n; i++) {
        float *row = z + i * m;
        uint8_t *ps = pass + i * m;
        if (narrow) {
            i64 j = 0;
#ifdef __SSE2__      /* gcc leaves this loop scalar, with branches that follow the data */
            const __m128 zero = _mm_setzero_ps(), eight = _mm_set1_ps(FIT_GRID_TOP);
            const __m128 up = _mm_set1_ps(FIT_GRID_SCALE), down = _mm_set1_ps(1.0f / FIT_GRID_SCALE);
            for (; j + 4 <= m; j += 4) {
                __m128 t = _mm_add_ps(_mm_loadu_ps(row + j), _mm_loadu_ps(b + j));
                int in = _mm_movemask_ps(_mm_and_ps(_mm_cmpge_ps(t, zero), _mm_cmple_ps(t, eight)));
                ps[j] = (uint8_t)(in & 1);
                ps[j + 1] = (uint8_t)(in >> 1 & 1);
                ps[j + 2] = (uint8_t)(in >> 2 & 1);
                ps[j + 3] = (uint8_t)(in >> 3 & 1);
                t = _mm_min_ps(_mm_max_ps(t, zero), eight);
                _mm_storeu_ps(row + j, _mm_mul_ps(_mm_cvtepi32_ps(_mm_cvttps_epi32(_mm_mul_ps(t, up))), down));
            }
#endif
            for (; j < m; j++) {
                float t = row[j] + b[j];
                ps[j] = (uint8_t)((t >= 0.0f) & (t <= FIT_GRID_TOP));
                t = t < 0.0f ? 0.0f : t;
                t = t > FIT_GRID_TOP ? FIT_GRID_TOP : t;
                row[j] = (float)(int32_t)(t * FIT_GRID_SCALE) * (1.0f / FIT_GRID_SCALE);   /* t >= 0: truncation floors */
            }
        } else {
            for (i64 j = 0; j < m; j++) {
                float t = row[j] + b[j];
                ps[j] = (uint8_t)((t > 0.0f) & (t < top));
                t = t < 0.0f ? 0.0f : t;
                row[j] = t > top ? top : t;
            }
        }
    }
}

/* the activation's backward: g (n x m) zeroed where pass is 0; g_bias[j] = its column sums */
void linr_fit_pass(float *g, const uint8_t *pass, i64 n, i64 m, float *g_bias) {
    for (i64 j = 0; j < m; j++) g_bias[j] = 0.0f;
    for (i64 i = 0; i < n; i++) {
        float *row = g + i * m;
        const uint8_t *ps = pass + i * m;
        for (i64 j = 0; j < m; j++) {
            row[j] = ps[j] ? row[j] : 0.0f;
            g_bias[j] += row[j];
        }
    }
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
static inline float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

/* network._HeadCost for n rows of the last layer's products o (n x cols, bias b added here):
 * returns the sum of the rows' code lengths in bits; g_out (n x cols) receives grad times
 * each cost's gradient in o, g_bias its column sums. The same formulas, a row at a time. */
double linr_fit_head(const float *o_in, const float *b, i64 n, i64 cols, i64 C, const float *anchor,
                     const float *scale, const float *values, const float *top, float grad, float LOGIT,
                     float FLOOR, float *g_out, float *g_bias) {
    /* the exact head's clamps in real units; LOGIT and FLOOR are the float twin's own
     * (model.MIXTURE_LOGIT_LIMIT, model.COST_FLOOR) */
    const float MEAN = (float)MEAN_LIMIT / ACT_ONE, LOGS = (float)LOGS_LIMIT / ACT_ONE, MIX = (float)MIX_LIMIT / ACT_ONE;
    const i64 pairs = C * (C - 1) / 2;
    double total = 0.0;
    for (i64 j = 0; j < cols; j++) g_bias[j] = 0.0f;
    for (i64 i = 0; i < n; i++) {
        float o[64], g[64];
        for (i64 j = 0; j < cols; j++) { o[j] = o_in[i * cols + j] + b[j]; g[j] = 0.0f; }
        const float sc = scale[i], tp = top[i];
        const float *v = values + i * C, *an = anchor + i * C;
        float m1[4], m2[4], a[6], bb[6], follow[4], shift[4], resid[4], size[4];
        float mean[2][4], logs[2][4], inv[2][4], w[4], dist[2][2][4], s[2][2][4], d[4];
        for (i64 c = 0; c < C; c++) {
            m1[c] = an[c] + clampf(o[c], -MEAN, MEAN) * sc;
            m2[c] = an[c] + clampf(o[4 * C + c], -MEAN, MEAN) * sc;
        }
        for (i64 k = 0; k < pairs; k++) {
            a[k] = clampf(o[5 * C + k], -MIX, MIX);
            bb[k] = clampf(o[5 * C + pairs + k], -MIX, MIX);
        }
        for (i64 c = 0; c < C; c++) {
            i64 col = c * (c - 1) / 2;
            follow[c] = 0.0f;
            shift[c] = 0.0f;
            for (i64 j = 0; j < c; j++) { follow[c] += a[col + j] * resid[j]; shift[c] += bb[col + j] * size[j]; }
            resid[c] = v[c] - (m1[c] + follow[c]);
            float rel = fabsf(resid[c]) / sc;                 /* network.residual_size */
            rel = rel < 0x1p-13f ? 0x1p-13f : rel;
            size[c] = clampf(floorf(log2f(rel)) + 1.0f, -4.0f, 8.0f);
            mean[0][c] = m1[c] + follow[c];
            mean[1][c] = m2[c] + follow[c];
            for (int part = 0; part < 2; part++) {
                logs[part][c] = o[C + 2 * c + part] + shift[c];
                inv[part][c] = expf(-clampf(logs[part][c], -LOGS, LOGS)) / sc;
            }
            w[c] = sigmoidf(clampf(o[3 * C + c], -LOGIT, LOGIT));
            float f[2];
            for (int end = 0; end < 2; end++) {
                for (int part = 0; part < 2; part++) {
                    dist[end][part][c] = (end == 0 ? v[c] + 0.5f : v[c] - 0.5f) - mean[part][c];
                    s[end][part][c] = sigmoidf(dist[end][part][c] * inv[part][c]);
                }
                f[end] = s[end][0][c] * w[c] + s[end][1][c] * (1.0f - w[c]);
            }
            d[c] = (v[c] + 1.0f >= tp ? 1.0f : f[0]) - (v[c] <= 0.0f ? 0.0f : f[1]);
            total -= log2((double)(d[c] > FLOOR ? d[c] : FLOOR));
        }
        /* the backward, as _HeadCost.backward */
        float g_means[2][4], g_shift[4], through[4] = {0, 0, 0, 0}, g_a[6], g_b[6];
        for (i64 c = 0; c < C; c++) {
            float dd = d[c] > FLOOR ? d[c] : FLOOR;
            float g_d = d[c] >= FLOOR ? -grad / (dd * 0.6931471805599453f) : 0.0f;
            float g_f[2] = {v[c] + 1.0f >= tp ? 0.0f : g_d, v[c] <= 0.0f ? 0.0f : -g_d};
            float g_w = g_f[0] * (s[0][0][c] - s[0][1][c]) + g_f[1] * (s[1][0][c] - s[1][1][c]);
            float g_z[2][2];
            for (int end = 0; end < 2; end++)
                for (int part = 0; part < 2; part++)
                    g_z[end][part] = g_f[end] * (part == 0 ? w[c] : 1.0f - w[c])
                                     * s[end][part][c] * (1.0f - s[end][part][c]);
            g_shift[c] = 0.0f;
            for (int part = 0; part < 2; part++) {
                g_means[part][c] = -(g_z[0][part] + g_z[1][part]) * inv[part][c];
                float inside = logs[part][c] >= -LOGS && logs[part][c] <= LOGS;
                float g_l = inside ? -(g_z[0][part] * dist[0][part][c] + g_z[1][part] * dist[1][part][c])
                                     * inv[part][c] : 0.0f;
                g[C + 2 * c + part] = g_l;
                g_shift[c] += g_l;
            }
            float lw = o[3 * C + c];
            g[3 * C + c] = lw >= -LOGIT && lw <= LOGIT ? g_w * w[c] * (1.0f - w[c]) : 0.0f;
        }
        for (i64 c = C - 1; c >= 0; c--) {
            float g_m1 = g_means[0][c] + through[c];
            float g_follow = g_m1 + g_means[1][c];
            i64 col = c * (c - 1) / 2;
            for (i64 j = 0; j < c; j++) {
                g_a[col + j] = g_follow * resid[j];
                g_b[col + j] = g_shift[c] * size[j];
                through[j] -= g_follow * a[col + j];
            }
            g[c] = o[c] >= -MEAN && o[c] <= MEAN ? g_m1 * sc : 0.0f;
            g[4 * C + c] = o[4 * C + c] >= -MEAN && o[4 * C + c] <= MEAN ? g_means[1][c] * sc : 0.0f;
        }
        for (i64 k = 0; k < pairs; k++) {
            float oa = o[5 * C + k], ob = o[5 * C + pairs + k];
            g[5 * C + k] = oa >= -MIX && oa <= MIX ? g_a[k] : 0.0f;
            g[5 * C + pairs + k] = ob >= -MIX && ob <= MIX ? g_b[k] : 0.0f;
        }
        for (i64 j = 0; j < cols; j++) { g_out[i * cols + j] = g[j]; g_bias[j] += g[j]; }
    }
    return total;
}

/* fitting.Adam's step for one tensor (torch.optim.Adam's arithmetic), the L1 price's
 * gradient l1 * sign(p) added to g first */
void linr_fit_adam(float *p, const float *g, float *m, float *v, i64 n, double lr, double beta1,
                   double beta2, double eps, i64 step, double l1) {
    const float b1 = (float)(1.0 - beta1), b2 = (float)beta2, c2 = (float)(1.0 - beta2);
    const float step_size = (float)(lr / (1.0 - pow(beta1, (double)step)));
    const float root2 = (float)sqrt(1.0 - pow(beta2, (double)step)), e = (float)eps, lf = (float)l1;
    for (i64 i = 0; i < n; i++) {
        float gi = g[i] + (p[i] > 0.0f ? lf : (p[i] < 0.0f ? -lf : 0.0f));
        m[i] += b1 * (gi - m[i]);
        v[i] = v[i] * b2 + c2 * gi * gi;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / root2 + e);
    }
}

/* setuptools builds this file as a Python extension module, which must name an
 * init function; it is never imported as one (kernels.py loads it with ctypes). */
#ifdef _WIN32
__declspec(dllexport)
#endif
void *PyInit__kernels(void) { return 0; }

/* PNG's row filters undone (pngio.py reads PNGs without OpenCV): `data` holds `rows` filtered
 * rows of 1 + stride bytes, the filter type first; `out` gets the rows x stride bytes. `above`:
 * the unfiltered row before the first, or NULL on the image's first row. bpp: bytes a pixel,
 * at least 1. Returns -1, or the first row whose filter type is not 0 to 4. */
i64 linr_png_unfilter(const uint8_t *data, i64 rows, i64 stride, i64 bpp, const uint8_t *above, uint8_t *out) {
    for (i64 y = 0; y < rows; y++) {
        const uint8_t *f = data + y * (stride + 1) + 1;
        uint8_t *x = out + y * stride;
        const uint8_t *b = y ? x - stride : above;
        i64 n = bpp < stride ? bpp : stride, i;             /* the first pixel has no left neighbour */
        switch (f[-1]) {
        case 0:
            memcpy(x, f, (size_t)stride);
            break;
        case 1:
            memcpy(x, f, (size_t)n);
            for (i = n; i < stride; i++) x[i] = (uint8_t)(f[i] + x[i - bpp]);
            break;
        case 2:
            if (!b) memcpy(x, f, (size_t)stride);
            else for (i = 0; i < stride; i++) x[i] = (uint8_t)(f[i] + b[i]);
            break;
        case 3:
            if (!b) {
                memcpy(x, f, (size_t)n);
                for (i = n; i < stride; i++) x[i] = (uint8_t)(f[i] + (x[i - bpp] >> 1));
            } else {
                for (i = 0; i < n; i++) x[i] = (uint8_t)(f[i] + (b[i] >> 1));
                for (i = n; i < stride; i++) x[i] = (uint8_t)(f[i] + ((x[i - bpp] + b[i]) >> 1));
            }
            break;
        case 4:
            if (!b) {                                       /* no row above: Paeth takes a */
                memcpy(x, f, (size_t)n);
                for (i = n; i < stride; i++) x[i] = (uint8_t)(f[i] + x[i - bpp]);
                break;
            }
            for (i = 0; i < n; i++) x[i] = (uint8_t)(f[i] + b[i]);      /* a = c = 0: Paeth takes b */
            for (i = n; i < stride; i++) {
                int a = x[i - bpp], v = b[i], c = b[i - bpp];
                int pa = abs(v - c), pb = abs(a - c), pc = abs(a + v - 2 * c);
                x[i] = (uint8_t)(f[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? v : c));
            }
            break;
        default:
            return y;
        }
    }
    return -1;
}

/* PNG's row filters chosen and applied as libpng does by default (pngio.py writes PNGs without
 * OpenCV): each of the `rows` rows of `stride` bytes in `in` goes to `out` as 1 + stride bytes,
 * the type of the filter (0 to 4) whose bytes, read as signed, sum smallest in magnitude, then
 * the filtered bytes. `above`: the row before the first, or NULL on the image's first row.
 * `work` holds 5 x stride bytes. */
void linr_png_filter(const uint8_t *in, i64 rows, i64 stride, i64 bpp, const uint8_t *above, uint8_t *work,
                     uint8_t *out) {
    for (i64 y = 0; y < rows; y++) {
        const uint8_t *x = in + y * stride, *b = y ? x - stride : above;
        i64 best = 0, best_sum = -1;
        for (int t = 0; t < 5; t++) {
            uint8_t *f = work + t * stride;
            i64 sum = 0;
            for (i64 i = 0; i < stride; i++) {
                int a = i >= bpp ? x[i - bpp] : 0, u = b ? b[i] : 0, c = b && i >= bpp ? b[i - bpp] : 0, pred;
                if (t == 0) pred = 0;
                else if (t == 1) pred = a;
                else if (t == 2) pred = u;
                else if (t == 3) pred = (a + u) >> 1;
                else {
                    int p = a + u - c, pa = abs(p - a), pb = abs(p - u), pc = abs(p - c);
                    pred = pa <= pb && pa <= pc ? a : pb <= pc ? u : c;
                }
                uint8_t v = (uint8_t)(x[i] - pred);
                f[i] = v;
                sum += v < 128 ? v : 256 - v;
            }
            if (best_sum < 0 || sum < best_sum) best = t, best_sum = sum;
        }
        out[y * (stride + 1)] = (uint8_t)best;
        memcpy(out + y * (stride + 1) + 1, work + best * stride, (size_t)stride);
    }
}
