"""Integer context-mixing kernel for the mixing lab (prototype of format 5's
decision kernel; NOT part of the product).

One call codes (measures) every pixel decision of one image in the format's
order: chunks in decoding order, then channels, then planes from the MSB,
then the chunk's pixels (plane-major, as kernels.code_planes). Per decision:

  inputs   st(k_net)  and  st(p_m) for each enabled context model m
           (st = stretch, 1/256 nat units, |st| <= ST_MAX), plus a bias
  mixer    dot = sum w_i st_i >> 16 (weights int, 16 fractional bits),
           one weight set per (channel, plane) [optionally x activity bucket]
           p_mix = squash(dot)  (16-bit)
  APM      interpolated on st(p_mix), 33 cells, context (channel, plane[, q]);
           p = (p_mix + 3 apm) >> 2   [apm2: two APMs averaged]
  coder k  clip(p, K_MIN, K_MAX)
  update   err = (bit << 16) - p_mix;  w_i += (st_i * err * lr) >> 20
           counters: p22 += ((bit << 22) - p22) * RATE[n] >> 16, n = min(n + 1, LIMIT)
           APM cells: c += ((bit << 16) - c) * weight >> (rate + 12)

Everything is int64 arithmetic on integer tables (stretch, squash, counter
rates), as a shipped kernel would be; only the ideal code length (log2) is
float, for measurement. Contexts read only what the decoder knows: the
pixel's 12 neighbours from earlier passes (flat indices `nb`), the values of
the pixel's earlier channels, and the current value's higher planes.
"""
import math

import numba
import numpy as np

ST_MAX = 3071                 # stretch domain: +-12 nats in 1/256 nat units
K_MIN, K_MAX = 64, 65536 - 64

# model ids (bit i of `mask` enables model i)
M_PREFIX, M_ANCHOR, M_DIR, M_IC, M_KNET, M_TEX, M_PREFIX_PRED, M_LEVEL = range(8)
N_MODELS = 8
MODEL_NAMES = ["prefix", "anchor-err", "dir-err", "inter-channel", "knet-bucket", "texture",
               "prefix+pred", "pass-level"]

jit = numba.njit(cache=True, nogil=True)


def make_tables():
    p = np.arange(65536, dtype=np.float64)
    p = np.clip(p, 0.5, 65535.5) / 65536.0
    st = np.clip(np.round(256 * np.log(p / (1 - p))), -ST_MAX, ST_MAX).astype(np.int64)
    x = np.arange(-ST_MAX, ST_MAX + 1, dtype=np.float64) / 256.0
    sq = np.clip(np.round(65536.0 / (1 + np.exp(-x))), 1, 65535).astype(np.int64)
    n = np.arange(1024, dtype=np.float64)
    rate = np.round(65536.0 / (n + 1.5)).astype(np.int64)
    k = np.arange(65536, dtype=np.float64)
    k[0] = 1
    log2 = -np.log2(k / 65536.0)              # cost of a decision whose probability is k/2^16
    return st, sq, rate, log2


@jit
def bitlen(u):
    n = 0
    while u > 0:
        u >>= 1
        n += 1
    return n


@jit
def qs(e, cap):
    # signed log-ish bucket, 2 per octave, |q| <= cap
    u = abs(e)
    if u < 4:
        q = u
    else:
        l = bitlen(u)
        q = 2 * l - 2 + ((u >> (l - 2)) & 1)
    if q > cap:
        q = cap
    return q if e >= 0 else -q


@jit
def hsh(a, b, c, d, tbits):
    h = np.uint64(a + 1) * np.uint64(0x9E3779B97F4A7C15)
    h = (h ^ np.uint64(b + 0x1234)) * np.uint64(0xC2B2AE3D27D4EB4F)
    h = (h ^ np.uint64(c + 0x777)) * np.uint64(0x165667B19E3779F9)
    h = (h ^ np.uint64(d + 0x31)) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64(h >> np.uint64(64 - tbits))


@jit
def squash(x, sq):
    if x > ST_MAX:
        x = ST_MAX
    if x < -ST_MAX:
        x = -ST_MAX
    return sq[x + ST_MAX]


@jit
def run_image(img, bits, const, pix, nb, kind, level, chunk_off, kk, mask, use_net, use_apm,
              lr, limit, tbits, apm_rate, mix_sel, st, sq, rate, log2, out_k):
    """Total ideal code length (bits) of the image's coded decisions. out_k
    (same shape as kk, or 0 rows) receives the coder's k when it has rows."""
    npix_all, C = img.shape
    n_in = N_MODELS + 2                           # models, network, bias
    size = 1 << tbits
    tp = np.full((N_MODELS, size), 1 << 21, np.int64)
    tn = np.zeros((N_MODELS, size), np.int64)
    n_act = 8 if mix_sel else 1
    wsets = C * bits * n_act
    w = np.zeros((wsets, n_in), np.int64)
    nmod = 0
    for m in range(N_MODELS):
        if (mask >> m) & 1:
            nmod += 1
    for s in range(wsets):
        if use_net:
            w[s, N_MODELS] = 65536
        elif nmod > 0:
            for m in range(N_MODELS):
                if (mask >> m) & 1:
                    w[s, m] = 65536 * 3 // (nmod * 4 + 1) + 16384
    # APM: (channel, plane, 8 activity buckets) x 33 cells on st(p)
    apm_ctx = C * bits * 8
    apm = np.empty((apm_ctx, 33), np.int64)
    for a in range(apm_ctx):
        for j in range(33):
            apm[a, j] = squash((j - 16) * 192, sq)
    stv = np.zeros(n_in, np.int64)
    slot = np.zeros(N_MODELS, np.int64)
    nchunks = chunk_off.shape[0] - 1
    cost = 0.0
    R = kk.shape[1]
    keep = out_k.shape[0] > 0
    # per-pixel scratch (a chunk is at most 65536 pixels)
    maxn = 0
    for j in range(nchunks):
        maxn = max(maxn, chunk_off[j + 1] - chunk_off[j])
    lo = np.zeros(maxn, np.int64)
    pa = np.zeros(maxn, np.int64)      # anchor predictor
    pd = np.zeros(maxn, np.int64)      # directional predictor
    pic = np.zeros(maxn, np.int64)     # inter-channel predictor
    qact = np.zeros(maxn, np.int64)
    dirf = np.zeros(maxn, np.int64)
    tex = np.zeros(maxn, np.int64)
    rq = np.zeros(maxn, np.int64)
    pdc = np.zeros((maxn, 4), np.int64)   # directional predictor of every channel
    half = 1 << (bits - 1)
    for j in range(nchunks):
        s0, s1 = chunk_off[j], chunk_off[j + 1]
        n = s1 - s0
        row = 0
        for c in range(C):
            # -- per-pixel contexts of channel c (earlier passes, earlier channels)
            for i in range(n):
                g = s0 + i
                if nb[g, 0] < 0:
                    pa[i] = half
                    pd[i] = half
                    pic[i] = half
                    qact[i] = 15
                    dirf[i] = 3
                    tex[i] = 0
                    rq[i] = 0
                    pdc[i, c] = half
                else:
                    v0 = img[nb[g, 0], c]
                    v1 = img[nb[g, 1], c]
                    v2 = img[nb[g, 2], c]
                    v3 = img[nb[g, 3], c]
                    a = (v0 + v1 + v2 + v3) >> 2
                    pa[i] = a
                    d1 = abs(v0 - v3)
                    d2 = abs(v1 - v2)
                    # gradients from the 8 next-nearest too (pairs across the pixel)
                    act = d1 + d2
                    for q in range(4, 12):
                        act += abs(img[nb[g, q], c] - a) >> 1
                    if d1 * 2 < d2:
                        p = (v0 + v3) >> 1
                        dirf[i] = 1
                    elif d2 * 2 < d1:
                        p = (v1 + v2) >> 1
                        dirf[i] = 2
                    else:
                        p = a
                        dirf[i] = 0
                    pd[i] = p
                    pdc[i, c] = p
                    qact[i] = min(bitlen(act >> 1), 15)
                    t = 0
                    if v0 > a:
                        t |= 1
                    if v1 > a:
                        t |= 2
                    if v2 > a:
                        t |= 4
                    if v3 > a:
                        t |= 8
                    tex[i] = t
                    if c > 0:
                        r = img[pix[g], c - 1] - pdc[i, c - 1]
                        if c > 1:
                            r = (r + img[pix[g], c - 2] - pdc[i, c - 2]) >> 1 if C == 3 else r
                        pic[i] = p + r
                        rq[i] = qs(r, 12)
                    else:
                        pic[i] = p
                        rq[i] = 0
                lo[i] = 0
            for b in range(bits - 1, -1, -1):
                fixed = const[b, c]
                if fixed >= 0:
                    for i in range(n):
                        lo[i] |= fixed << b
                    continue
                step = 1 << b
                cb = c * bits + b
                for i in range(n):
                    g = s0 + i
                    v = img[pix[g], c]
                    bit = (v >> b) & 1
                    mid = lo[i] + step
                    k = np.int64(kk[g, row])
                    qa = qact[i]
                    # -- context slots
                    if mask & 1:
                        slot[0] = hsh(cb, lo[i] >> (b + 1), 0, 0, tbits)
                    if (mask >> 1) & 1:
                        slot[1] = hsh(cb, qs(pa[i] - mid, 31), qa, 1, tbits)
                    if (mask >> 2) & 1:
                        slot[2] = hsh(cb, qs(pd[i] - mid, 31), qa, 2 + 4 * dirf[i], tbits)
                    if (mask >> 3) & 1:
                        slot[3] = hsh(cb, qs(pic[i] - mid, 31), rq[i], 3 + 64 * (qa >> 1), tbits)
                    if (mask >> 4) & 1:
                        slot[4] = hsh(cb, (st[k] + ST_MAX) >> 7, qa >> 2, 4, tbits)
                    if (mask >> 5) & 1:
                        slot[5] = hsh(cb, qs(pd[i] - mid, 8), tex[i], 5 + 8 * kind[g], tbits)
                    if (mask >> 6) & 1:
                        slot[6] = hsh(cb, lo[i] >> (b + 1), qs(pd[i] - mid, 6), 6, tbits)
                    if (mask >> 7) & 1:
                        slot[7] = hsh(cb, qs(pa[i] - mid, 31), kind[g] * 8 + level[g], 7, tbits)
                    for m in range(N_MODELS):
                        if (mask >> m) & 1 and tn[m, slot[m]] > 0:
                            stv[m] = st[tp[m, slot[m]] >> 6]
                        else:
                            stv[m] = 0
                    stv[N_MODELS] = st[k] if use_net else 0
                    stv[N_MODELS + 1] = 256
                    ws = cb * n_act + (qa >> 1 if mix_sel else 0)
                    dot = 0
                    for q in range(n_in):
                        dot += w[ws, q] * stv[q]
                    dot >>= 16
                    if dot > ST_MAX:
                        dot = ST_MAX
                    if dot < -ST_MAX:
                        dot = -ST_MAX
                    pm = sq[dot + ST_MAX]
                    p = pm
                    if use_apm:
                        # interpolated APM on st(pm): cells every 192
                        z = dot + 16 * 192
                        if z < 0:
                            z = 0
                        if z > 32 * 192 - 1:
                            z = 32 * 192 - 1
                        lo_c = z // 192
                        f = z - lo_c * 192           # weight of cell lo_c + 1, /192
                        actx = cb * 8 + (qa >> 1 if use_apm == 2 else 0)
                        pa_ = (apm[actx, lo_c] * (192 - f) + apm[actx, lo_c + 1] * f) // 192
                        p = (pm + 3 * pa_ + 2) >> 2
                        # update both cells, weighted
                        tgt = bit << 16
                        apm[actx, lo_c] += ((tgt - apm[actx, lo_c]) * (192 - f)) // (192 << apm_rate)
                        apm[actx, lo_c + 1] += ((tgt - apm[actx, lo_c + 1]) * f) // (192 << apm_rate)
                    if p < K_MIN:
                        p = K_MIN
                    if p > K_MAX:
                        p = K_MAX
                    if keep:
                        out_k[g, row] = p
                    cost += log2[p] if bit else log2[65536 - p]
                    # -- updates
                    err = (bit << 16) - pm
                    for q in range(n_in):
                        w[ws, q] += (stv[q] * err * lr) >> 20
                    for m in range(N_MODELS):
                        if (mask >> m) & 1:
                            sl = slot[m]
                            nn = tn[m, sl]
                            tp[m, sl] += (((bit << 22) - tp[m, sl]) * rate[nn]) >> 16
                            if nn < limit:
                                tn[m, sl] = nn + 1
                    if bit:
                        lo[i] = mid
                row += 1
    return cost


# -- the lean kernel: the candidate design, direct-indexed tables, fixed inputs --------
# Per (channel, plane) cb the tables hold:
#   prefix   node = (1 << (bits-1-b)) | prefix       2**bits cells per channel (binary tree)
#   anchor   qs(anchor - mid, 31) x activity 16        63 x 16
#   dir      qs(dir - mid, 31) x activity 16 x dirf 3  63 x 16 x 3
#   ic       qs(ic - mid, 31) x qs(r, 12) x act/2 8    63 x 25 x 8
#   texture  qs(dir - mid, 8) x sign pattern 16 x kind 3   17 x 16 x 3
# A counter is one int32: p (22 bits) << 8 | n (n <= LIMIT <= 255).
SZ_A = 63 * 16
SZ_D = 63 * 16 * 3
SZ_I = 63 * 25 * 8
SZ_T = 17 * 16 * 3
LEAN_INPUTS = 7                # prefix, anchor, dir, ic, texture, network, bias


def make_lean_tables():
    st, sq, rate, log2 = make_tables()
    p12 = (np.arange(4096, dtype=np.float64) + 0.5) / 4096.0
    st12 = np.clip(np.round(256 * np.log(p12 / (1 - p12))), -ST_MAX, ST_MAX).astype(np.int32)
    # |e| -> its unsigned qs bucket (no bit_length loop per decision)
    qtab = np.array([abs(qs.py_func(u, 63)) if u < 4 else min(63, 2 * int(u).bit_length() - 2
                     + ((u >> (int(u).bit_length() - 2)) & 1)) for u in range(65537)], np.int8)
    return st.astype(np.int32), sq.astype(np.int32), rate.astype(np.int32), st12, log2, qtab


@jit
def qt(e, cap, qtab):
    u = e if e >= 0 else -e
    if u > 65536:
        u = 65536
    q = np.int64(qtab[u])
    if q > cap:
        q = cap
    return q if e >= 0 else -q


@jit
def counter_in(t, idx, st12):
    s = t[idx]
    if (s & 255) == 0:
        return 0
    return np.int64(st12[s >> 18])        # p22 >> 10: 12 bits


@jit
def counter_up(t, idx, bit, rate, limit):
    s = np.int64(t[idx])
    n = s & 255
    p = s >> 8
    p += (((bit << 22) - p) * rate[n]) >> 16
    if n < limit:
        n += 1
    t[idx] = np.int32((p << 8) | n)


@jit
def run_lean(img, bits, const, pix, nb, kind, chunk_off, kk, lr, limit, apm_rate,
             st, sq, rate, st12, log2, qtab, use_apm, lr_lo, decay, drop):
    # drop: bit q set = input q (and its table) left out: ablations and the 3-model variant
    # mixer learning rate of a weight set after u updates (lr, lr_lo in 1/4 units):
    #   lr_lo + (lr - lr_lo) * decay // (decay + u)      (decay = 0: constant lr)
    # use_apm: 0 none, 1 p = (p_mix + 3 apm) / 4, 2 p = (p_mix + apm) / 2
    npix_all, C = img.shape
    CB = C * bits
    init = np.int32((1 << 21) << 8)
    t_pre = np.full(C << bits, init, np.int32)
    t_a = np.full(CB * SZ_A, init, np.int32)
    t_d = np.full(CB * SZ_D, init, np.int32)
    t_i = np.full(CB * SZ_I, init, np.int32)
    t_t = np.full(CB * SZ_T, init, np.int32)
    w = np.zeros((CB, LEAN_INPUTS), np.int64)
    used = np.zeros(CB, np.int64)
    for s in range(CB):
        w[s, 5] = 65536
    apm = np.empty((CB, 33), np.int64)
    for a in range(CB):
        for j in range(33):
            apm[a, j] = squash((j - 16) * 192, sq)
    x = np.zeros(LEAN_INPUTS, np.int64)
    nchunks = chunk_off.shape[0] - 1
    maxn = 0
    for j in range(nchunks):
        maxn = max(maxn, chunk_off[j + 1] - chunk_off[j])
    lo = np.zeros(maxn, np.int64)
    pa = np.zeros(maxn, np.int64)
    pd = np.zeros(maxn, np.int64)
    pic = np.zeros(maxn, np.int64)
    ca = np.zeros(maxn, np.int64)     # per-pixel context parts, premultiplied
    cd = np.zeros(maxn, np.int64)
    ci = np.zeros(maxn, np.int64)
    ct = np.zeros(maxn, np.int64)
    pdc = np.zeros((maxn, 4), np.int64)
    half = 1 << (bits - 1)
    cost = 0.0
    for j in range(nchunks):
        s0, s1 = chunk_off[j], chunk_off[j + 1]
        n = s1 - s0
        row = 0
        for c in range(C):
            for i in range(n):
                g = s0 + i
                if nb[g, 0] < 0:
                    pa[i] = half
                    pd[i] = half
                    pic[i] = half
                    pdc[i, c] = half
                    qa, dirf, tex, rq = 15, 0, 0, 0
                else:
                    v0 = img[nb[g, 0], c]
                    v1 = img[nb[g, 1], c]
                    v2 = img[nb[g, 2], c]
                    v3 = img[nb[g, 3], c]
                    a = (v0 + v1 + v2 + v3) >> 2
                    pa[i] = a
                    d1 = abs(v0 - v3)
                    d2 = abs(v1 - v2)
                    act = d1 + d2
                    for q in range(4, 12):
                        act += abs(img[nb[g, q], c] - a) >> 1
                    if d1 * 2 < d2:
                        p = (v0 + v3) >> 1
                        dirf = 1
                    elif d2 * 2 < d1:
                        p = (v1 + v2) >> 1
                        dirf = 2
                    else:
                        p = a
                        dirf = 0
                    pd[i] = p
                    pdc[i, c] = p
                    qa = min(bitlen(act >> 1), 15)
                    tex = (v0 > a) | ((v1 > a) << 1) | ((v2 > a) << 2) | ((v3 > a) << 3)
                    rq = 0
                    pic[i] = p
                    if c > 0:
                        r = img[pix[g], c - 1] - pdc[i, c - 1]
                        if c > 1 and C == 3:
                            r = (r + img[pix[g], c - 2] - pdc[i, c - 2]) >> 1
                        pic[i] = p + r
                        rq = qs(r, 12)
                ca[i] = qa
                cd[i] = qa * 3 + dirf
                ci[i] = (rq + 12) * 8 + (qa >> 1)
                ct[i] = tex * 3 + kind[g]
                lo[i] = 0
            for b in range(bits - 1, -1, -1):
                fixed = const[b, c]
                if fixed >= 0:
                    for i in range(n):
                        lo[i] |= fixed << b
                    continue
                step = 1 << b
                cb = c * bits + b
                node0 = (c << bits) | (1 << (bits - 1 - b))
                ba, bd, bi, bt = cb * SZ_A, cb * SZ_D, cb * SZ_I, cb * SZ_T
                ws = w[cb]
                ap = apm[cb]
                if decay > 0:
                    rate_now = lr_lo + ((lr - lr_lo) * decay) // (decay + used[cb])
                else:
                    rate_now = lr
                used[cb] += n
                for i in range(n):
                    g = s0 + i
                    bit = (img[pix[g], c] >> b) & 1
                    mid = lo[i] + step
                    k = np.int64(kk[g, row])
                    i0 = node0 | (lo[i] >> (b + 1))
                    i1 = 0 if drop & 2 else ba + (qt(pa[i] - mid, 31, qtab) + 31) * 16 + ca[i]
                    i2 = 0 if drop & 4 else bd + (qt(pd[i] - mid, 31, qtab) + 31) * 48 + cd[i]
                    i3 = 0 if drop & 8 else bi + (qt(pic[i] - mid, 31, qtab) + 31) * 200 + ci[i]
                    i4 = 0 if drop & 16 else bt + (qt(pd[i] - mid, 8, qtab) + 8) * 48 + ct[i]
                    x[0] = 0 if drop & 1 else counter_in(t_pre, i0, st12)
                    x[1] = 0 if drop & 2 else counter_in(t_a, i1, st12)
                    x[2] = 0 if drop & 4 else counter_in(t_d, i2, st12)
                    x[3] = 0 if drop & 8 else counter_in(t_i, i3, st12)
                    x[4] = 0 if drop & 16 else counter_in(t_t, i4, st12)
                    x[5] = 0 if drop & 32 else st[k]
                    x[6] = 256
                    dot = 0
                    for q in range(LEAN_INPUTS):
                        dot += ws[q] * x[q]
                    dot >>= 16
                    if dot > ST_MAX:
                        dot = ST_MAX
                    if dot < -ST_MAX:
                        dot = -ST_MAX
                    pm = np.int64(sq[dot + ST_MAX])
                    p = pm
                    if use_apm:
                        z = dot + 16 * 192
                        if z < 0:
                            z = 0
                        if z > 32 * 192 - 1:
                            z = 32 * 192 - 1
                        lc = z // 192
                        f = z - lc * 192
                        pa_ = (ap[lc] * (192 - f) + ap[lc + 1] * f) // 192
                        if use_apm == 1:
                            p = (pm + 3 * pa_ + 2) >> 2
                        else:
                            p = (pm + pa_ + 1) >> 1
                        tgt = bit << 16
                        ap[lc] += ((tgt - ap[lc]) * (192 - f)) // (192 << apm_rate)
                        ap[lc + 1] += ((tgt - ap[lc + 1]) * f) // (192 << apm_rate)
                    if p < K_MIN:
                        p = K_MIN
                    if p > K_MAX:
                        p = K_MAX
                    cost += log2[p] if bit else log2[65536 - p]
                    err = ((bit << 16) - pm) * rate_now
                    for q in range(LEAN_INPUTS):
                        ws[q] += (x[q] * err) >> 22
                    if not drop & 1:
                        counter_up(t_pre, i0, bit, rate, limit)
                    if not drop & 2:
                        counter_up(t_a, i1, bit, rate, limit)
                    if not drop & 4:
                        counter_up(t_d, i2, bit, rate, limit)
                    if not drop & 8:
                        counter_up(t_i, i3, bit, rate, limit)
                    if not drop & 16:
                        counter_up(t_t, i4, bit, rate, limit)
                    if bit:
                        lo[i] = mid
                row += 1
    return cost
