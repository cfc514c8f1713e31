"""linr 0.10's mixing lab (scripts/online_lab.md, "linr 0.10"): variants of the format 9 decision
kernel tried as a patched kernel, measured by the product's cost walk (walker.CostSink: the ideal
code length of the pixel decisions, no header, no delta), effort 0's prior per set.

    git worktree add /tmp/klab3 49a4e7e && cd /tmp/klab3 && git apply /path/to/scripts/mixer_lab10.patch
    python setup.py build_ext --inplace
    python /path/to/scripts/mixer_lab10.py /tmp/klab3 p128,p768,illu,g16,s16,mnist,moon 0,14
    python /path/to/scripts/mixer_lab10.py /tmp/klab3 p128,p768,illu 0,317770

Variant 0 is format 9. 1..7: a second mixer (7 inputs, the same as the first) whose weight
set is chosen by another context, its stretch averaged with the first's: 1 the network's
confidence (4 buckets of |st(k)|), 3 the pass kind x confidence, 6 confidence x the number of
the 4 nearest neighbours whose higher bits agree with the value so far, 7 that number alone.
12..17: variant 6's two mixers combined by a learnt final mixer (2 weights a plane) instead
of the average; 14 starts it at (1, 0), learning rate 48 (15: 192, 16: 96, 17: 24). 10, 11:
one mixer with variant 6's selector instead of the activity (10 is broken: not reported).
18, 19: 14 with a third SSE row selected like the second mixer. Variants of 1000 and more
skip the mixer where the network's k is at its clamp (|st(k)| >= 1770): 1000 m + 770 codes
those decisions with a counter per (channel, plane, side) starting at the clamp's
probability with count m - 1; 300000 + ... also indexes it by the match counter's context;
600000, 700000, 900000 + ... skip only where the prefix counter agrees (p >= 1/2, 3/4, 15/16);
4000000 + ... index the counter by activity and pass kind. Prints bytes against variant 0,
the worst image, and the share of decisions skipped. Validation data only (rate_check.py's
sets; `s16` synthesises 8 16-bit images with scripts/synth16.py's kinds from seed 12345, not
the bench's; `moon` is scikit-image's; `mnist` the last 200 MNIST training images).
"""
import ctypes, os, sys, time
TREE = sys.argv[1]
sys.path.insert(0, TREE)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('LINR_BENCH_DATA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data'))
import numpy as np
from inrcodec import kernels, priors
from inrcodec.walker import CostSink, Geometry, constant_planes, walk
lib = kernels._LIB
lib.linr_lab_reset.argtypes = [ctypes.c_int]
HAS = hasattr(lib, 'linr_lab_counts')
if HAS: lib.linr_lab_counts.argtypes = [ctypes.c_void_p]
CNT = np.zeros(2, np.int64)
from inrcodec import mixing as _mx
_row = np.ascontiguousarray(_mx.sse_start().astype(np.int32))
if HAS: lib.linr_lab_sse_start.argtypes = [ctypes.c_void_p]; lib.linr_lab_sse_start(_row.ctypes.data)

def cost(img, prior, variant):
    h, w, C = img.shape
    bits = 16 if img.dtype == np.uint16 else 8
    img = img.astype(np.uint16)
    lib.linr_lab_reset(variant)
    sink = CostSink(img)
    walk(Geometry(h, w, C, bits), prior.cfg, list(prior.weights), constant_planes(img, bits), sink, known=img, workers=1)
    c2 = np.zeros(2, np.int64)
    if HAS: lib.linr_lab_counts(c2.ctypes.data)
    CNT[:] += c2
    return sink.cost

def synth16v():
    import synth16
    rng = np.random.default_rng(12345)     # not the bench's seed
    out = []
    for kind in ('ridged_terrain', 'film_scan', 'radiograph', 'fluorescence'):
        f = getattr(synth16, kind)
        for _ in range(2): out.append(f(rng, 256))
    return out

if __name__ == '__main__':
    from rate_check import validation_photos768, illustrations768
    from train_prior import image_set
    sets = sys.argv[2].split(','); variants = [int(v) for v in sys.argv[3].split(',')]
    data = {
        'p128': lambda: image_set("photo-5", "val", np.random.default_rng(1)),
        'p768': validation_photos768, 'illu': illustrations768,
        'g16': lambda: image_set("gray16-2", "val", np.random.default_rng(1)),
        's16': synth16v,
        'mnist': lambda: [np.asarray(a) for _, a in __import__('inrcodec.bench.datasets', fromlist=['x']).load('mnist-train', limit=200, offset=60000 - 200)],
        'moon': lambda: [__import__('skimage.data', fromlist=['x']).moon()[:256, :256]],
    }
    pri = {'p128': 'photo-7', 'p768': 'photo-7', 'illu': 'photo-7', 'g16': 'gray16-2', 's16': 'gray16-2', 'mnist': 'mnist', 'moon': 'photo-gray'}
    for s in sets:
        imgs = data[s](); prior = priors.load(pri[s]); res = {}
        for v in variants:
            t = time.time(); per = []
            for a in imgs:
                a = a if a.ndim == 3 else a[:, :, None]
                per.append(cost(np.ascontiguousarray(a), prior, v))
            res[v] = per; tot = sum(per); base = sum(res[variants[0]])
            worst = max(100 * (x / max(y, 1e-9) - 1) for x, y in zip(per, res[variants[0]]))
            print(s, len(imgs), v, f'{tot/8:.0f} bytes', f'{100*(tot/base-1):+.3f}%', f'worst {worst:+.2f}%', f'{time.time()-t:.0f}s', 'skipped %.1f%%' % (100 * CNT[0] / max(CNT[1], 1)), flush=True); CNT[:] = 0
