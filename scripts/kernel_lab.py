"""Two decision-kernel experiments that did not pay (scripts/online_lab.md), for the record.

They need the kernel patched, in a separate checkout:
    git worktree add /tmp/klab 7855453 && cd /tmp/klab && git apply /path/to/scripts/kernel_lab.patch
    python setup.py build_ext --inplace
    python /path/to/scripts/kernel_lab.py /tmp/klab p768,illu 0,1,2,3 a        # PIT contexts
    SKIP=128 SMODE=1 python /path/to/scripts/kernel_lab.py /tmp/klab p768,illu 0   # mixer skipped

1. The neighbours' PIT: every decoded pixel's probability integral transform under the network,
   u = (F(v) + F(v+1)) / 2 >> 22 (8 bits), is kept; a pixel's context is the bias
   sum_j (u_j - 128) and the spread sum_j |u_j - 128| of its 4 nearest (earlier passes),
   bucketed (modes a, b, c). Variant 1: a third SSE row by it; 2: a fifth counter input by
   (context, qs(pic - mid)); 3: both.
2. The mixer skipped when the network is sure (k < SKIP or k > 65536 - SKIP): SMODE 0 codes
   with the network's k; 1-5 with a small adaptive table (by k; by k and activity; with the
   value prefix's counter); 6 mixes but does not learn from those decisions.
Prints the ideal code length (walker.CostSink) of each set against variant 0.
"""
import ctypes
import os
import sys
import time

TREE = sys.argv[1]
sys.path.insert(0, TREE)
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from inrcodec import exact, features, kernels, mixing, priors  # noqa: E402
from inrcodec.backend import COMPILED  # noqa: E402
from inrcodec.schedule import CHUNK, GRID  # noqa: E402
from inrcodec.walker import CostSink, Geometry, _rows, chunk_order, constant_planes, walk_constants  # noqa: E402

lib = kernels._LIB
lib.linr_lab_reset.argtypes = [ctypes.c_int, ctypes.c_void_p]
lib.linr_lab_skip.argtypes = [ctypes.c_int64]
lib.linr_lab_skipped.argtypes = [ctypes.c_int]
lib.linr_lab_skipped.restype = ctypes.c_int64
lib.linr_lab_skipmode.argtypes = [ctypes.c_int, ctypes.c_void_p]
lib.linr_lab_skip(int(os.environ.get('SKIP', '0')))
SQ = np.ascontiguousarray(mixing.squash().astype(np.int32))


def nctx_of(pit8, idx4, mode):
    # pit8: (h*w, C) uint8; idx4: 4 x N flat indices -> N x C context 1..127 (0: grid)
    u = pit8[idx4].astype(np.int64) - 128          # 4 x N x C
    bias = u.sum(axis=0)                            # -512..508
    spread = np.abs(u).sum(axis=0)                  # 0..512
    if mode == 'a':
        bq = np.array([exact_qs(int(v) >> 2, 7) for v in bias.ravel()]).reshape(bias.shape)  # -7..7
        sq = np.minimum(np.floor(np.log2(spread + 1)).astype(np.int64), 7)                  # 0..7 (log2(513)=9)
        sq = np.clip(np.floor(np.log2(spread + 1)).astype(np.int64) - 2, 0, 7)
        return 1 + (bq + 7) * 8 + sq                # 1..120
    if mode == 'b':
        bq = np.sign(bias) * np.minimum(np.floor(np.log2(np.abs(bias) + 1)).astype(np.int64), 8)  # -8..8
        return 1 + bq + 8
    if mode == 'c':
        sq = np.clip(np.floor(np.log2(spread + 1)).astype(np.int64), 0, 9)
        return 1 + sq
    raise ValueError

def exact_qs(e, cap):
    m = abs(e)
    q = m if m < 4 else 2 * m.bit_length() - 2 + ((m >> (m.bit_length() - 2)) & 1)
    q = min(q, cap)
    return -q if e < 0 else q

def cost(img, prior, variant, mode='a'):
    h, w, C = img.shape
    bits = 16 if img.dtype == np.uint16 else 8
    img = img.astype(np.uint16) if bits == 8 else img
    geom = Geometry(h, w, C, bits)
    const = constant_planes(img, bits)
    weights = exact.prepare(list(prior.weights), prior.cfg)
    learner = geom.tables()
    lib.linr_lab_reset(variant, SQ.ctypes.data)
    lib.linr_lab_skipmode(int(os.environ.get('SMODE', '0')), SQ.ctypes.data)
    sink = CostSink(img)
    walk_constants(const, geom, sink)
    pit8 = np.full((h * w, C), 128, np.uint8)
    for p, start in chunk_order(geom):
        stop = min(start + CHUNK, p.count)
        ys, xs = p.coords(start, stop)
        out, anchor, shift, mix = _rows(prior.cfg, weights, img, p, start, stop, bits, COMPILED)
        if p.kind != GRID and variant:
            idx = features.neighbour_index(p, ys, xs, h, w)[:4]
            mix = mix | (nctx_of(pit8, idx, mode) << 44)
        COMPILED.chunk((out, anchor, shift, mix), bits, const, learner, sink, ys, xs)
        # PIT of this chunk's pixels under the network
        head = exact.Head(out, anchor, shift, bits)
        vals = img[ys, xs].astype(np.int64)
        for c in range(C):
            mu = head.mean(c); dist = head.distribution(c)
            f0 = head.cdf(vals[:, c], mu, dist); f1 = head.cdf(vals[:, c] + 1, mu, dist)
            pit8[ys * w + xs, c] = np.clip((f0 + f1) >> 23, 0, 255)
            head.set_value(c, vals[:, c], mu)
    return sink.cost

MODE = 'a'
if __name__ == '__main__':
    MODE = sys.argv[4] if len(sys.argv) > 4 else 'a'
    from rate_check import validation_photos768, illustrations768, centre
    from train_prior import image_set
    sets = sys.argv[2].split(',')
    variants = [int(v) for v in sys.argv[3].split(',')]
    data = {
        'p128': lambda: image_set("photo-5", "val", np.random.default_rng(1)),
        'p768': validation_photos768,
        'illu': illustrations768,
        'g16': lambda: image_set("gray16-2", "val", np.random.default_rng(1)),
    }
    pri = {'p128': 'photo-7', 'p768': 'photo-7', 'illu': 'photo-7', 'g16': 'gray16-2'}
    for s in sets:
        imgs = data[s]()
        prior = priors.load(pri[s])
        res = {}
        for v in variants:
            t = time.time()
            tot = 0.0; per = []
            for a in imgs:
                a = a if a.ndim == 3 else a[:, :, None]
                c = cost(np.ascontiguousarray(a), prior, v, MODE); per.append(c); tot += c
            res[v] = (tot, per)
            print(s, v, os.environ.get('SKIP'), f'skipped {lib.linr_lab_skipped(0)/max(1,lib.linr_lab_skipped(1)):.3f}', f'{tot/8:.0f} bytes', f'{100*(tot/res[variants[0]][0]-1):+.3f}%', f'{time.time()-t:.0f}s', flush=True)
