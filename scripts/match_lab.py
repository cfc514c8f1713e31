"""The match counter's lab (README, "The match counter and value-table lines"): format 9's match
counter tried as a patched kernel before it was built in, and a second one after.

    git worktree add /tmp/klab 4e10b88 && cd /tmp/klab && git apply /path/to/scripts/match_lab.patch
    python setup.py build_ext --inplace
    python /path/to/scripts/match_lab.py /tmp/klab moon,p128,dup,p768,illu,g16,mnist 0,1,2

    git worktree add /tmp/klab2 7582922 && cd /tmp/klab2 && git apply /path/to/scripts/match_lab2.patch
    python setup.py build_ext --inplace
    python /path/to/scripts/match_lab.py /tmp/klab2 p128,p768,illu 0,3,4 --next

match_lab.patch (on format 9 before the match counter): variant 1 adds a counter read in the
context of the 4 nearest neighbours' bits against the value's prefix and the pass kind (what
format 9 ships); 2, the same with the activity instead of the pass kind. match_lab2.patch (on
format 9 with it): variant 3 adds a second such counter over the next 4 neighbours (--next
hands the kernel neighbours 4..7); 4, one over the anchor, the directional predictor and the
inter-channel predictor as if they were neighbours. Prints the ideal code length
(walker.CostSink) of each set against variant 0. Validation data only (rate_check.py's sets;
`moon` is scikit-image's, `dup` the first 8 128x128 validation crops scaled up 2x by
repeating pixels, `mnist` the last 200 MNIST training images).
"""
import ctypes, os, sys, time
TREE = sys.argv[1]
NEXT = '--next' in sys.argv
# the named data sets next to this checkout, whichever tree is imported
os.environ.setdefault('LINR_BENCH_DATA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data'))
sys.path.insert(0, TREE)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from inrcodec import exact, features, kernels, priors
from inrcodec.backend import COMPILED
from inrcodec.schedule import CHUNK, GRID
from inrcodec.walker import CostSink, Geometry, _rows, chunk_order, constant_planes, walk_constants

lib = kernels._LIB
lib.linr_lab_reset.argtypes = [ctypes.c_int]
lib.linr_lab_near.argtypes = [ctypes.c_void_p]

def cost(img, prior, variant):
    h, w, C = img.shape
    bits = 16 if img.dtype == np.uint16 else 8
    img = img.astype(np.uint16)
    geom = Geometry(h, w, C, bits)
    const = constant_planes(img, bits)
    weights = exact.prepare(list(prior.weights), prior.cfg)
    learner = geom.tables()
    lib.linr_lab_reset(variant)
    sink = CostSink(img)
    walk_constants(const, geom, sink)
    flat = img.reshape(h * w, C).astype(np.uint64)
    for p, start in chunk_order(geom):
        stop = min(start + CHUNK, p.count)
        ys, xs = p.coords(start, stop)
        rows = _rows(prior.cfg, weights, img, p, start, stop, bits, COMPILED)
        near = None
        if p.kind != GRID:
            idx = features.neighbour_index(p, ys, xs, h, w)[4:8] if NEXT else features.neighbour_index(p, ys, xs, h, w)[:4]
            v = flat[idx]                       # 4 x N x C
            near = np.ascontiguousarray((v[0] | v[1] << 16 | v[2] << 32 | v[3] << 48).view(np.int64))
            lib.linr_lab_near(near.ctypes.data)
        else:
            lib.linr_lab_near(None)
        COMPILED.chunk(rows, bits, const, learner, sink, ys, xs)
    lib.linr_lab_near(None)
    return sink.cost

if __name__ == '__main__':
    from rate_check import validation_photos768, illustrations768
    from train_prior import image_set
    import skimage.data as sd
    from inrcodec.bench import datasets as bd
    sets = sys.argv[2].split(',')
    variants = [int(v) for v in sys.argv[3].split(',')]
    def dup():
        out = []
        for a in image_set("photo-5", "val", np.random.default_rng(1))[:8]:
            out.append(np.repeat(np.repeat(a, 2, 0), 2, 1))
        return out
    data = {
        'p128': lambda: image_set("photo-5", "val", np.random.default_rng(1)),
        'p768': validation_photos768,
        'illu': illustrations768,
        'g16': lambda: image_set("gray16-2", "val", np.random.default_rng(1)),
        'dup': dup,
        'moon': lambda: [sd.moon()[:256, :256]],
        'mnist': lambda: [np.asarray(a) for _, a in bd.load('mnist-train', limit=200, offset=60000 - 200)],
    }
    pri = {'p128': 'photo-7', 'p768': 'photo-7', 'illu': 'photo-7', 'g16': 'gray16-2', 'dup': 'photo-7',
           'moon': 'photo-gray', 'mnist': 'mnist'}
    for s in sets:
        imgs = data[s]()
        prior = priors.load(pri[s])
        res = {}
        for v in variants:
            t = time.time(); tot = 0.0; per = []
            for a in imgs:
                a = a if a.ndim == 3 else a[:, :, None]
                c = cost(np.ascontiguousarray(a), prior, v); per.append(c); tot += c
            res[v] = (tot, per)
            worst = max(100 * (x / y - 1) for x, y in zip(per, res[variants[0]][1]))
            print(s, len(imgs), v, f'{tot/8:.0f} bytes', f'{100*(tot/res[variants[0]][0]-1):+.3f}%', f'worst {worst:+.2f}%', f'{time.time()-t:.0f}s', flush=True)
