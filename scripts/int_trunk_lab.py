"""Int trunk lab: what a trunk of 16-bit integers would buy (issue 20's decode and encode
speed; a measured prototype, not part of the product).

The trunk is the per-pixel MLP every decoder runs. Today its exact products run in float64
(exact.trunk: integer-valued doubles, BLAS): about half of a Kodak decode's CPU, and of a
large image's encode and decode. A trunk whose activations and weights fit 16-bit integers, with products
summed in int32, runs the same arithmetic on the CPU's integer dot-product units
(AVX2 `pmaddwd`: 16 products an instruction; AVX-512 VNNI `vpdpwssd`: 32), and every machine
gets the same integers. This lab measures two things:

  speed   C kernels (compiled here with cc), int16 x int16 -> int32, a layer at a time and
          the whole trunk fused, against the product's float64 trunk, one thread;
  rate    photo-5 with its features, activations and weights rounded to the int grid in the
          float twin's forward pass (then, with --steps, fine-tuned there with
          straight-through gradients): its code length on the validation photos' pixels
          against photo-5's float twin.

    python scripts/int_trunk_lab.py speed
    python scripts/int_trunk_lab.py rate [--steps 0] [--act-q 7] [--w-q 8]

Results: scripts/int_trunk_lab.md.

The int grid: activations clipped to [0, 8) with ACT_Q fractional bits, weights to (-16, 16)
with W_Q fractional bits. No sum can overflow int32: the largest product is
2**(3 + ACT_Q) * 2**(4 + W_Q) and a layer sums at most MAX_WIDTH + 1 of them
(see `bound`). Validation data only (scripts/train_prior.py's splits).
"""
from __future__ import annotations

import argparse
import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

ACT_Q, W_Q = 7, 8          # fractional bits of the int grid: activations [0, 8), weights (-16, 16)
ACT_MAX, W_MAX = 8.0, 16.0


def bound(width: int = 256) -> int:
    """The largest |sum| a layer of `width` inputs can reach on the int grid (plus a bias)."""
    return (width + 1) * (int(ACT_MAX) << ACT_Q) * (int(W_MAX) << W_Q)


C_SOURCE = r"""
#include <stdint.h>
/* y[n][m] = sum_k x[n][k] * w[m][k]  (int16 inputs, int32 sums); k padded to a multiple of 32,
 * weights stored transposed (m rows of k): each output is a dot product of two int16 rows */
void layer(const int16_t *x, const int16_t *w, const int32_t *bias, int32_t *y,
           int n, int k, int m) {
    for (int i = 0; i < n; i++) {
        const int16_t *xi = x + (long)i * k;
        for (int j = 0; j < m; j++) {
            const int16_t *wj = w + (long)j * k;
            int32_t s = bias[j];
            for (int q = 0; q < k; q++) s += (int32_t)xi[q] * (int32_t)wj[q];
            y[(long)i * m + j] = s;
        }
    }
}
/* 4 rows at once: each weight row is loaded once for 4 pixels */
void layer4(const int16_t *x, const int16_t *w, const int32_t *bias, int32_t *y,
            int n, int k, int m) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const int16_t *x0 = x + (long)i * k, *x1 = x0 + k, *x2 = x1 + k, *x3 = x2 + k;
        for (int j = 0; j < m; j++) {
            const int16_t *wj = w + (long)j * k;
            int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int q = 0; q < k; q++) {
                int32_t v = wj[q];
                s0 += x0[q] * v; s1 += x1[q] * v; s2 += x2[q] * v; s3 += x3[q] * v;
            }
            y[(long)i * m + j] = s0 + bias[j];
            y[(long)(i + 1) * m + j] = s1 + bias[j];
            y[(long)(i + 2) * m + j] = s2 + bias[j];
            y[(long)(i + 3) * m + j] = s3 + bias[j];
        }
    }
    if (i < n) layer(x + (long)i * k, w, bias, y + (long)i * m, n - i, k, m);
}
#include <immintrin.h>
/* The layout of an int8/int16 GEMM: weights as pairs of inputs, wp[k/2][m][2], so one
 * instruction multiplies a broadcast pair of a pixel's inputs by the pairs of 16 (AVX-512)
 * or 8 (AVX2) outputs and adds both products to int32 sums; 4 pixels share each weight load.
 * m a multiple of 16 (AVX-512) or 8 (AVX2), k even. */
#if defined(__AVX512VNNI__)
void layer_pairs(const int16_t *x, const int16_t *wp, const int32_t *bias, int32_t *y,
                 int n, int k, int m) {
    for (int j0 = 0; j0 < m; j0 += 96) {
        int mb = m - j0 < 96 ? m - j0 : 96, v = mb / 16;
        int i = 0;
        for (; i < n; i += 4) {
            int rows = n - i < 4 ? n - i : 4;
            __m512i acc[4][6];
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < v; t++) acc[r][t] = _mm512_loadu_si512(bias + j0 + 16 * t);
            for (int q = 0; q < k / 2; q++) {
                const int16_t *wq = wp + ((long)q * m + j0) * 2;
                __m512i xb[4];
                for (int r = 0; r < 4; r++)
                    xb[r] = _mm512_set1_epi32(r < rows ? *(const int32_t *)(x + (long)(i + r) * k + 2 * q) : 0);
                for (int t = 0; t < v; t++) {
                    __m512i w = _mm512_loadu_si512(wq + 32 * t);
                    for (int r = 0; r < 4; r++) acc[r][t] = _mm512_dpwssd_epi32(acc[r][t], xb[r], w);
                }
            }
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < v; t++) _mm512_storeu_si512(y + (long)(i + r) * m + j0 + 16 * t, acc[r][t]);
        }
    }
}
#elif defined(__AVX2__)
void layer_pairs(const int16_t *x, const int16_t *wp, const int32_t *bias, int32_t *y,
                 int n, int k, int m) {
    for (int j0 = 0; j0 < m; j0 += 48) {
        int mb = m - j0 < 48 ? m - j0 : 48, v = mb / 8;
        for (int i = 0; i < n; i += 2) {
            int rows = n - i < 2 ? n - i : 2;
            __m256i acc[2][6];
            for (int r = 0; r < 2; r++)
                for (int t = 0; t < v; t++) acc[r][t] = _mm256_loadu_si256((const __m256i *)(bias + j0 + 8 * t));
            for (int q = 0; q < k / 2; q++) {
                const int16_t *wq = wp + ((long)q * m + j0) * 2;
                __m256i xb[2];
                for (int r = 0; r < 2; r++)
                    xb[r] = _mm256_set1_epi32(r < rows ? *(const int32_t *)(x + (long)(i + r) * k + 2 * q) : 0);
                for (int t = 0; t < v; t++) {
                    __m256i w = _mm256_loadu_si256((const __m256i *)(wq + 16 * t));
                    for (int r = 0; r < 2; r++)
                        acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(xb[r], w));
                }
            }
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < v; t++)
                    _mm256_storeu_si256((__m256i *)(y + (long)(i + r) * m + j0 + 8 * t), acc[r][t]);
        }
    }
}
#endif
#if defined(__AVX512VNNI__)
/* The whole trunk, fused: each block of 4 rows goes through every layer, each layer's int32
 * sums shifted, clipped and packed to int16 straight from the registers into the next
 * layer's input (no array between layers). Layer l: wp[l] as layer_pairs', k[l] even, m[l]
 * a multiple of 16 and at most 96 wide, k[l+1] = m[l]. out: n x m[last] int32 sums. */
void trunk_fused(const int16_t *x, int n, int layers, const int16_t **wp, const int32_t **bias,
                 const int *k, const int *m, int shift, int top, int32_t *out) {
    int16_t buf[2][4 * 256] __attribute__((aligned(64)));
    const __m512i zero = _mm512_setzero_si512(), hi = _mm512_set1_epi32(top);
    for (int i = 0; i < n; i += 4) {
        int rows = n - i < 4 ? n - i : 4;
        const int16_t *in = x + (long)i * k[0];
        int stride = k[0];
        for (int l = 0; l < layers; l++) {
            int v = m[l] / 16;
            __m512i acc[4][6];
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < v; t++) acc[r][t] = _mm512_loadu_si512(bias[l] + 16 * t);
            for (int q = 0; q < k[l] / 2; q++) {
                const int16_t *wq = wp[l] + (long)q * m[l] * 2;
                __m512i xb[4];
                for (int r = 0; r < 4; r++)
                    xb[r] = _mm512_set1_epi32(r < rows ? *(const int32_t *)(in + (long)r * stride + 2 * q) : 0);
                for (int t = 0; t < v; t++) {
                    __m512i w = _mm512_loadu_si512(wq + 32 * t);
                    for (int r = 0; r < 4; r++) acc[r][t] = _mm512_dpwssd_epi32(acc[r][t], xb[r], w);
                }
            }
            if (l == layers - 1) {
                for (int r = 0; r < rows; r++)
                    for (int t = 0; t < v; t++) _mm512_storeu_si512(out + (long)(i + r) * m[l] + 16 * t, acc[r][t]);
            } else {
                int16_t *dst = buf[l & 1];
                for (int r = 0; r < 4; r++)
                    for (int t = 0; t < v; t++) {
                        __m512i y = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(acc[r][t], shift), zero), hi);
                        _mm256_storeu_si256((__m256i *)(dst + r * m[l] + 16 * t), _mm512_cvtepi32_epi16(y));
                    }
                in = dst;
                stride = m[l];
            }
        }
    }
}
#elif defined(__AVX2__)
/* trunk_fused with AVX2's pmaddwd (8 sums a register): 2 rows at once, m at most 96, the
 * hidden layers' m a multiple of 16 (their sums are packed to int16 two registers at a time) */
void trunk_fused(const int16_t *x, int n, int layers, const int16_t **wp, const int32_t **bias,
                 const int *k, const int *m, int shift, int top, int32_t *out) {
    int16_t buf[2][2 * 256] __attribute__((aligned(32)));
    const __m256i zero = _mm256_setzero_si256(), hi = _mm256_set1_epi32(top);
    for (int i = 0; i < n; i += 2) {
        int rows = n - i < 2 ? n - i : 2;
        const int16_t *in = x + (long)i * k[0];
        int stride = k[0];
        for (int l = 0; l < layers; l++) {
            int v = m[l] / 8;
            __m256i acc[2][12];
            for (int r = 0; r < 2; r++)
                for (int t = 0; t < v; t++) acc[r][t] = _mm256_loadu_si256((const __m256i *)(bias[l] + 8 * t));
            for (int q = 0; q < k[l] / 2; q++) {
                const int16_t *wq = wp[l] + (long)q * m[l] * 2;
                __m256i xb[2];
                for (int r = 0; r < 2; r++)
                    xb[r] = _mm256_set1_epi32(r < rows ? *(const int32_t *)(in + (long)r * stride + 2 * q) : 0);
                for (int t = 0; t < v; t++) {
                    __m256i w = _mm256_loadu_si256((const __m256i *)(wq + 16 * t));
                    for (int r = 0; r < 2; r++) acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(xb[r], w));
                }
            }
            if (l == layers - 1) {
                for (int r = 0; r < rows; r++)
                    for (int t = 0; t < v; t++)
                        _mm256_storeu_si256((__m256i *)(out + (long)(i + r) * m[l] + 8 * t), acc[r][t]);
            } else {
                int16_t *dst = buf[l & 1];
                for (int r = 0; r < 2; r++)
                    for (int t = 0; t < v; t += 2) {
                        __m256i a = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc[r][t], shift), zero), hi);
                        __m256i b = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc[r][t + 1], shift), zero), hi);
                        /* packs works per 128-bit lane: permute back to the outputs' order */
                        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
                        _mm256_storeu_si256((__m256i *)(dst + r * m[l] + 8 * t), p);
                    }
                in = dst;
                stride = m[l];
            }
        }
    }
}
#endif
int lanes(void) {              /* int32 sums an instruction of layer_pairs */
#if defined(__AVX512VNNI__)
    return 16;
#else
    return 8;
#endif
}
/* the hidden layers' epilogue: floor shift, clip to [0, top], back to int16 */
void relu16(const int32_t *y, int16_t *out, long count, int shift, int32_t top) {
    for (long i = 0; i < count; i++) {
        int32_t v = y[i] >> shift;
        out[i] = (int16_t)(v < 0 ? 0 : (v > top ? top : v));
    }
}
"""


def build(flags: list) -> ctypes.CDLL:
    d = Path(tempfile.mkdtemp(prefix="int_trunk_lab"))
    (d / "k.c").write_text(C_SOURCE)
    subprocess.run(["cc", "-O3", "-shared", "-fPIC", *flags, "-o", str(d / "k.so"), str(d / "k.c")], check=True)
    lib = ctypes.CDLL(str(d / "k.so"))
    for f in (lib.layer, lib.layer4, lib.layer_pairs):
        f.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int] * 3
    lib.relu16.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_int, ctypes.c_int32]
    return lib


def int_trunk(lib, fn, dims: list, x16: np.ndarray, ws: list, bs: list) -> np.ndarray:
    """The whole trunk on the int grid: int16 activations, int32 sums."""
    n = x16.shape[0]
    x = x16
    for i, (w, b) in enumerate(zip(ws, bs)):
        y = np.empty((n, w.shape[0]), np.int32)
        fn(x.ctypes.data, w.ctypes.data, b.ctypes.data, y.ctypes.data, n, w.shape[1], w.shape[0])
        if i < len(ws) - 1:
            nxt = np.zeros((n, ws[i + 1].shape[1]), np.int16)            # padded columns stay 0
            out = np.empty((n, w.shape[0]), np.int16)
            lib.relu16(y.ctypes.data, out.ctypes.data, y.size, W_Q, int(ACT_MAX) << ACT_Q)
            nxt[:, :w.shape[0]] = out
            x = nxt
        else:
            x = y
    return x


def as_pairs(ws: list, bs: list, lanes: int = 16) -> tuple:
    """layer_pairs' layout of int_trunk's weights: outputs padded to a multiple of `lanes`,
    each layer's weights as [k/2][m][2] (pairs of inputs side by side), biases padded."""
    wps, bps = [], []
    for w, b in zip(ws, bs):
        m, k = w.shape
        mp = -(-m // lanes) * lanes
        full = np.zeros((mp, k), np.int16)
        full[:m] = w
        wps.append(np.ascontiguousarray(full.T.reshape(k // 2, 2, mp).transpose(0, 2, 1)))
        bp = np.zeros(mp, np.int32)
        bp[:m] = b
        bps.append(bp)
    return wps, bps


def pairs_trunk(lib, x16: np.ndarray, wps: list, bps: list, out_cols: int) -> np.ndarray:
    """int_trunk with layer_pairs: the same integers."""
    n, x = x16.shape[0], x16
    for i, (wp, b) in enumerate(zip(wps, bps)):
        k, mp = 2 * wp.shape[0], wp.shape[1]
        if x.shape[1] != k:                           # the hidden layers' inputs: padded outputs
            x = np.ascontiguousarray(np.pad(x, ((0, 0), (0, k - x.shape[1]))))
        y = np.empty((n, mp), np.int32)
        lib.layer_pairs(x.ctypes.data, wp.ctypes.data, b.ctypes.data, y.ctypes.data, n, k, mp)
        if i < len(wps) - 1:
            x = np.empty((n, mp), np.int16)
            lib.relu16(y.ctypes.data, x.ctypes.data, y.size, W_Q, int(ACT_MAX) << ACT_Q)
        else:
            return y[:, :out_cols]


def fused_trunk(lib, x16: np.ndarray, wps: list, bps: list, out_cols: int) -> np.ndarray:
    """The whole trunk in one C call (trunk_fused): the same integers as pairs_trunk."""
    n, layers = x16.shape[0], len(wps)
    ks = (ctypes.c_int * layers)(*[2 * w.shape[0] for w in wps])
    ms = (ctypes.c_int * layers)(*[w.shape[1] for w in wps])
    wp = (ctypes.c_void_p * layers)(*[w.ctypes.data for w in wps])
    bp = (ctypes.c_void_p * layers)(*[b.ctypes.data for b in bps])
    out = np.empty((n, wps[-1].shape[1]), np.int32)
    lib.trunk_fused(x16.ctypes.data, n, layers, wp, bp, ks, ms, W_Q, int(ACT_MAX) << ACT_Q, out.ctypes.data)
    return out[:, :out_cols]


def speed(args) -> None:
    from inrcodec import exact, priors, threads
    from inrcodec.backend import COMPILED
    p = priors.load("photo-5")
    cfg = p.cfg
    rng = np.random.default_rng(0)
    n = args.rows
    feats = rng.integers(-8 << 12, 8 << 12, (n, cfg.in_features)).astype(np.int64)
    prepared = exact.prepare(p.weights)
    dims = [cfg.in_features] + [cfg.hidden] * cfg.layers + [cfg.out_features]
    pad = lambda k: -(-k // 32) * 32                                     # noqa: E731
    ws = [rng.integers(-(16 << W_Q) + 1, 16 << W_Q, (dims[i + 1], pad(dims[i]))).astype(np.int16)
          for i in range(len(dims) - 1)]
    bs = [np.zeros(dims[i + 1], np.int32) for i in range(len(dims) - 1)]
    x16 = np.zeros((n, pad(dims[0])), np.int16)
    x16[:, :dims[0]] = rng.integers(0, 8 << ACT_Q, (n, dims[0]))
    macs = sum(dims[i] * dims[i + 1] for i in range(len(dims) - 1))
    print(f"photo-5's trunk: {' x '.join(map(str, dims))}, {macs} products a pixel; {n} rows a call, one thread")
    print("| arithmetic | us a pixel | products a second |\n|---|---:|---:|")

    def clock(label, fn):
        fn()
        best = 1e9
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        print(f"| {label} | {best / n * 1e6:.3f} | {macs * n / best / 1e9:.1f} G |", flush=True)
    with threads.one_blas_thread():
        clock("float64, exact.trunk, numpy's epilogue (BLAS products)", lambda: exact.trunk(cfg, prepared, feats))
        clock("float64, the product's trunk (BLAS products, compiled epilogue)",
              lambda: COMPILED.trunk(cfg, prepared, feats))
    for flags in (["-mavx2"], ["-march=x86-64-v4", "-mavx512vnni"]):
        try:
            lib = build(flags)
        except subprocess.CalledProcessError:
            continue
        for name in ("layer", "layer4"):
            clock(f"int16 -> int32, C `{name}`, cc -O3 {' '.join(flags)}",
                  lambda lib=lib, name=name: int_trunk(lib, getattr(lib, name), dims, x16, ws, bs))
        lanes = lib.lanes()
        wps, bps = as_pairs(ws, bs, lanes)
        same = np.array_equal(pairs_trunk(lib, x16, wps, bps, dims[-1]), int_trunk(lib, lib.layer, dims, x16, ws, bs))
        if not same:
            raise SystemExit("layer_pairs gave other integers")
        clock(f"int16 -> int32, C `layer_pairs` ({'AVX-512 VNNI' if lanes == 16 else 'AVX2 pmaddwd'}), "
              f"cc -O3 {' '.join(flags)}", lambda lib=lib: pairs_trunk(lib, x16, wps, bps, dims[-1]))
        lib.trunk_fused.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                    ctypes.c_int, ctypes.c_void_p]
        xp = np.ascontiguousarray(x16[:, :2 * wps[0].shape[0]])
        if not np.array_equal(fused_trunk(lib, xp, wps, bps, dims[-1]), pairs_trunk(lib, x16, wps, bps, dims[-1])):
            raise SystemExit("trunk_fused gave other integers")
        clock(f"int16 -> int32, C `trunk_fused` (every layer of {4 if lanes == 16 else 2} rows at once, "
              f"{'AVX-512 VNNI' if lanes == 16 else 'AVX2 pmaddwd'}), "
              f"cc -O3 {' '.join(flags)}", lambda lib=lib, xp=xp, wps=wps, bps=bps: fused_trunk(lib, xp, wps, bps, dims[-1]))
    print(f"largest possible sum on the int grid, 256 inputs: {bound():,} (int32: {2 ** 31 - 1:,})")


def rate(args) -> None:
    global ACT_Q, W_Q
    ACT_Q, W_Q = args.act_q, args.w_q
    import torch
    from inrcodec import priors
    from inrcodec.network import FloatNet, rows_to_tensors
    from inrcodec.fitting import batch_loss
    from inrcodec.training import collect_rows
    from train_prior import image_set
    import train_prior

    torch.set_num_threads(args.threads)
    p = priors.load("photo-5")
    val = image_set("photo-5", "val", np.random.default_rng(1))
    big = [train_prior.to8(a) for a in train_prior.photo_sources("val")]
    dev = torch.device("cpu")
    va = rows_to_tensors(collect_rows([a.astype(np.int64) for a in val + big], 1 << 20, 1), dev)

    def q(t, frac, lo, hi):
        s = float(1 << frac)
        r = torch.clamp(t, lo, hi)
        return r + (torch.round(r * s) / s - r).detach()

    def forward_int(net, x):
        """FloatNet's forward pass with the features, activations and weights rounded to the
        int grid (straight-through: the gradient passes the rounding unchanged)."""
        ws = net.weights()
        h = q(x, ACT_Q, -8.0, 8.0)
        for i in range(0, len(ws), 2):
            w = q(ws[i], W_Q, -W_MAX + 2 ** -W_Q, W_MAX - 2 ** -W_Q)
            b = ws[i + 1]
            h = h @ w.T + b
            if i < len(ws) - 2:
                h = q(torch.clamp(h, 0, ACT_MAX), ACT_Q, 0.0, ACT_MAX - 2 ** -ACT_Q)
        return h

    base = FloatNet(p.cfg, list(p.weights)).to(dev)
    with torch.no_grad():
        ref = float(batch_loss(base, va, None))
    print(f"photo-5, float twin, validation rows: {ref:.4f} bpp")
    net = FloatNet(p.cfg, list(p.weights)).to(dev)
    net.forward = lambda x: forward_int(net, x)                           # noqa: E731
    with torch.no_grad():
        before = float(batch_loss(net, va, None))
    print(f"photo-5 rounded to the int grid (ACT_Q {ACT_Q}, W_Q {W_Q}), no training: {before:.4f} bpp "
          f"({100 * (before / ref - 1):+.2f}%)", flush=True)
    if args.steps <= 0:
        return
    from inrcodec.fitting import train as fit
    if args.float_control:                       # the same fine-tune off the grid
        net = FloatNet(p.cfg, list(p.weights)).to(dev)
    train = image_set("photo-5", "train", np.random.default_rng(0))
    tr = rows_to_tensors(collect_rows([a.astype(np.int64) for a in train], args.rows, 0), dev)
    t = time.time()
    fit(net, tr, args.steps, lr=args.lr, batch=8192, seed=0, cosine=True)
    with torch.no_grad():
        after = float(batch_loss(net, va, None))
    print(f"after {args.steps} steps {'in float (control)' if args.float_control else 'on the int grid'} ({time.time() - t:.0f} s): {after:.4f} bpp "
          f"({100 * (after / ref - 1):+.2f}%)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["speed", "rate"])
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-4, help="rate: the fine-tune's Adam rate")
    ap.add_argument("--float-control", action="store_true", help="rate: fine-tune in float instead")
    ap.add_argument("--act-q", type=int, default=ACT_Q, help="fractional bits of the activations")
    ap.add_argument("--w-q", type=int, default=W_Q, help="fractional bits of the weights")
    args = ap.parse_args()
    if args.what == "rate" and args.rows == 8192:
        args.rows = 2_000_000
    speed(args) if args.what == "speed" else rate(args)


if __name__ == "__main__":
    main()
