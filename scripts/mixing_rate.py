"""The pixel decisions' code length of validation sets under a tree's kernel (walker.CostSink:
the ideal code length, effort 0's prior, no header, no delta), per set, saved per image.

    LINR_BENCH_DATA=../shared/data TREE=/tmp/old python scripts/mixing_rate.py p128,p768,illu,g16,s16,mnist,moon
    LINR_BENCH_DATA=../shared/data TREE=$PWD python scripts/mixing_rate.py p128,p768,illu,g16,s16,mnist,moon

(/tmp/old: a worktree of another version with its kernels built; with settle_lab.patch applied
there, LABV=t in the environment picks its variant and the share of decisions skipped is printed.) Prints each set's bytes and
writes /tmp/rate_<tree's folder name>_<set>.npy. Validation data only: the sets of
scripts/validation_sets.py.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ['TREE'])
sys.path.insert(1, str(Path(__file__).resolve().parent))
import ctypes

import numpy as np
from inrcodec import kernels, priors
from inrcodec.walker import CostSink, Geometry, constant_planes, walk

LAB = getattr(kernels._LIB, "linr_lab_counts", None)      # settle_lab.patch: the share of decisions skipped
if LAB is not None:
    LAB.argtypes = [ctypes.c_void_p]

def cost(img, prior):
    h, w, C = img.shape
    bits = 16 if img.dtype == np.uint16 else 8
    img = img.astype(np.uint16)
    sink = CostSink(img)
    walk(Geometry(h, w, C, bits), prior.cfg, list(prior.weights), constant_planes(img, bits), sink, known=img, workers=1)
    return sink.cost

from validation_sets import data, pri  # noqa: E402 (after inrcodec: TREE's)
out = []
for s in sys.argv[1].split(','):
    imgs = data[s](); prior = priors.load(pri[s]); t = time.time()
    per = [cost(np.ascontiguousarray(a if a.ndim == 3 else a[:, :, None]), prior) for a in imgs]
    skipped = ""
    if LAB is not None:
        counts = np.zeros(2, np.int64)
        LAB(counts.ctypes.data)
        skipped = f" skipped {100 * counts[0] / max(counts[1], 1):.1f}%"
    out.append(f"{s} {len(imgs)} {sum(per)/8:.0f}{skipped}")
    np.save(f"/tmp/rate_{os.path.basename(os.environ['TREE'].rstrip('/'))}_{s}.npy", np.array(per))
print(os.environ['TREE'], ' | '.join(out), flush=True)
