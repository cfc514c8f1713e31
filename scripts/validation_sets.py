"""The validation sets of the kernel labs (scripts/mixing_rate.py, scripts/ablation.py): images
from TRAINING.md's training and validation sources only, and the built-in prior each is
walked under at effort 0.

    p128   24 128x128 crops of the photo validation split (train_prior.py's)
    p768   768x512 centre crops of the photo validation split (rate_check.py's)
    illu   the 15 768x512 illustration crops (illustrations.py)
    g16    16-bit gray validation images (train_prior.py's gray16-2 split)
    s16    8 16-bit images of synth16.py's kinds from seed 12345 (not the bench's seed)
    mnist  the last 200 MNIST training images
    moon   scikit-image's moon, 256x256

Import it after inrcodec (train_prior.py puts this checkout on sys.path).
"""
import numpy as np


def synth16v():
    import synth16
    rng = np.random.default_rng(12345)
    return [getattr(synth16, k)(rng, 256) for k in ('ridged_terrain', 'film_scan', 'radiograph', 'fluorescence')
            for _ in range(2)]


def _mnist():
    from inrcodec.bench.datasets import load
    return [np.asarray(a) for _, a in load('mnist-train', limit=200, offset=60000 - 200)]


def _moon():
    import skimage.data
    return [skimage.data.moon()[:256, :256]]


def _split(prior):
    from train_prior import image_set
    return lambda: image_set(prior, "val", np.random.default_rng(1))


def _rate_check(name):
    return lambda: getattr(__import__("rate_check"), name)()


data = {'p128': _split("photo-5"), 'p768': _rate_check("validation_photos768"),
        'illu': _rate_check("illustrations768"), 'g16': _split("gray16-2"), 's16': synth16v,
        'mnist': _mnist, 'moon': _moon}
pri = {'p128': 'photo-7', 'p768': 'photo-7', 'illu': 'photo-7', 'g16': 'gray16-2', 's16': 'gray16-2',
       'mnist': 'mnist', 'moon': 'photo-gray'}
