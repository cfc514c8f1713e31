"""Exactness of format 2 by construction: the tables, the integer trunk
(whatever the batch split and the BLAS thread count), the head's
probabilities, the cost meter, and identical pixels across processes."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inrcodec
from inrcodec import exact, limits, tables
from inrcodec.backend import COMPILED
from inrcodec.model import NetConfig, seeded_init, splitmix64
from inrcodec.oracle import ORACLE
from inrcodec.walker import (MIX2, MIX_FINE, CostSink, Geometry, ImageSink, constant_planes, image_rows, walk,
                             walk_constants)

ROOT = Path(__file__).resolve().parents[1]


# -- tables --------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(tables.SHA256))
def test_shipped_table_equals_its_definition(name):
    shipped = np.fromfile(tables.TABLE_DIR / f"{name}.i32", "<i4").astype(np.int64)
    generated = tables.generate(name)
    assert tables.digest(shipped) == tables.SHA256[name]
    assert tables.digest(generated) == tables.SHA256[name]
    assert np.array_equal(shipped, generated)
    assert np.array_equal(tables.load(name), generated)


def test_table_shapes_and_ranges():
    sin, cdf, inv = tables.sin_table(), tables.cdf_table(), tables.inv_scale_table()
    assert len(sin) == tables.SIN_SIZE and len(cdf) == tables.CDF_SIZE and len(inv) == tables.INV_SIZE
    assert sin.min() == -tables.ACT_ONE and sin.max() == tables.ACT_ONE and sin[0] == 0
    assert (np.diff(cdf) >= 0).all() and 0 <= cdf.min() and cdf.max() <= 1 << tables.CDF_BITS
    assert (np.diff(inv) <= 0).all() and inv.min() >= 0


# -- seeded initialisation --------------------------------------------------------

def test_splitmix64_is_the_reference_generator():
    # SplitMix64 from seed 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4 (Vigna's reference)
    assert splitmix64(0, 2).tolist() == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]
    assert splitmix64(5, 2).tolist() == [6038094601263162090, 3207296026000306913]


def test_seeded_init_is_reproducible_and_in_range():
    for act in ("relu", "sine"):
        cfg = NetConfig(channels=3, hidden=16, layers=2, activation=act)
        a, b = seeded_init(cfg, 42), seeded_init(cfg, 42)
        assert [x.shape for x in a] == [tuple(s) for s in cfg.shapes()]
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert not np.array_equal(a[0], seeded_init(cfg, 43)[0])
        assert not a[-2].any()                   # output weights start at zero: prediction = anchor
        exact.check_weights(cfg, a)


# -- the trunk ---------------------------------------------------------------------

def random_weights(cfg: NetConfig, seed: int, scale_bits: int = 16) -> list:
    """Integer weights well inside the decoder's range, output layer included."""
    rng = np.random.default_rng(seed)
    lim = 1 << scale_bits
    return [rng.integers(-lim, lim, s).astype(np.int64) for s in cfg.shapes()]


def sample_rows(h=24, w=19, c=3, bits=8, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    img = np.stack([(x * 7 + y * 3 + 40 * k) % (1 << bits) for k in range(c)], axis=2)
    img = np.clip(img + rng.integers(-3, 4, img.shape), 0, (1 << bits) - 1).astype(np.int64)
    return img, image_rows(img, bits)


def reference_trunk(cfg: NetConfig, weights: list, feats: np.ndarray) -> np.ndarray:
    """The trunk in int64 arithmetic (numpy integer matmul, no BLAS)."""
    x = feats.astype(np.int64)
    n_layers = len(weights) // 2
    for layer in range(n_layers):
        y = x @ weights[2 * layer].T.astype(np.int64) + (weights[2 * layer + 1].astype(np.int64)
                                                         << tables.ACT_BITS)
        y >>= tables.WEIGHT_BITS                                # floor
        if layer < n_layers - 1:
            if cfg.activation == "sine":
                y = tables.sin_table()[y & (tables.ACT_ONE - 1)]
            else:
                y = np.clip(y, 0, exact.ACT_LIMIT)
        x = y
    return x


@pytest.mark.parametrize("activation", ["relu", "sine"])
def test_trunk_is_exact_and_batch_independent(activation):
    cfg = NetConfig(channels=3, hidden=48, layers=3, activation=activation)
    w = random_weights(cfg, 7)
    exact.check_weights(cfg, w)
    _, rows = sample_rows()
    feats = rows[0]
    assert np.abs(feats).max() <= exact.FEATURE_LIMIT
    whole = exact.trunk(cfg, w, feats)
    assert whole.dtype == np.int64 and whole.shape == (len(feats), cfg.out_features)
    parts = np.concatenate([exact.trunk(cfg, w, feats[i:i + 7]) for i in range(0, len(feats), 7)])
    assert np.array_equal(whole, parts)
    single = np.concatenate([exact.trunk(cfg, w, feats[i:i + 1]) for i in range(0, 50)])
    assert np.array_equal(whole[:50], single)
    assert np.array_equal(whole, reference_trunk(cfg, w, feats))
    assert np.abs(whole).max() > 0           # not a trivial comparison


@pytest.mark.parametrize("activation", ["relu", "sine"])
def test_trunk_scratch_arrays_leave_no_trace(activation, monkeypatch):
    """Blocks of up to TRUNK_ROWS rows reuse two float64 arrays per thread: the same
    integers batch after batch, in batches of every size, from several threads at once."""
    from concurrent.futures import ThreadPoolExecutor
    monkeypatch.setattr(exact, "TRUNK_ROWS", 64)              # many blocks on a small sample
    cfg = NetConfig(channels=3, hidden=48, layers=3, activation=activation)
    w = random_weights(cfg, 11)
    feats = sample_rows()[1][0]
    want = reference_trunk(cfg, w, feats)
    assert len(feats) > 64 and np.array_equal(exact.trunk(cfg, w, feats), want)

    def in_pieces(seed):
        rng, out, i = np.random.default_rng(seed), [], 0
        while i < len(feats):
            n = int(rng.integers(1, 65))
            out.append(exact.trunk(cfg, w, feats[i:i + n]))
            i += n
        return np.concatenate(out)
    with ThreadPoolExecutor(4) as pool:
        assert all(np.array_equal(got, want) for got in pool.map(in_pieces, range(8)))


@pytest.mark.parametrize("activation", ["relu", "sine"])
def test_compiled_epilogue_gives_numpys_integers(activation):
    """The backends' trunks: the compiled one-pass epilogue (AVX2) and numpy's three passes
    give the same integers, at the limits the decoder accepts too (weights near
    WEIGHT_LIMIT, features at +-FEATURE_LIMIT, activations clipped at both ends); and a
    declining epilogue (a CPU without AVX2) leaves numpy's."""
    from inrcodec.backend import COMPILED
    from inrcodec.oracle import ORACLE
    cfg = NetConfig(channels=3, hidden=37, layers=3, activation=activation)   # 37: a scalar tail
    rng = np.random.default_rng(5)
    feats = rng.integers(-exact.FEATURE_LIMIT, exact.FEATURE_LIMIT + 1, (2500, cfg.in_features))
    feats[:40] = exact.FEATURE_LIMIT * rng.choice([-1, 1], (40, cfg.in_features))
    for scale_bits in (8, 16, 19):
        w = random_weights(cfg, 3 + scale_bits, scale_bits)
        w[0][:, :3] = exact.WEIGHT_LIMIT - 1                     # the largest the decoder accepts
        exact.check_weights(cfg, w)
        want = reference_trunk(cfg, w, feats)
        assert np.array_equal(ORACLE.trunk(cfg, w, feats), want)
        assert np.array_equal(COMPILED.trunk(cfg, w, feats), want)
        assert np.array_equal(exact.trunk(cfg, w, feats, lambda *a: False), want)
        if activation == "relu" and scale_bits == 19:
            hidden = reference_trunk(NetConfig(3, 37, 1, "relu"), w[:2] + [np.eye(37, dtype=np.int64) << 14,
                                                                        np.zeros(37, np.int64)], feats)
            assert (hidden == 0).any() and (hidden == exact.ACT_LIMIT).any()    # both clips reached


def python_int_trunk(cfg: NetConfig, weights: list, feats: np.ndarray) -> tuple:
    """The trunk in Python integers (object arrays: no rounding, no overflow); also the
    largest |x . W^T + (b << 12)| any layer summed."""
    x = feats.astype(object)
    largest = 0
    n_layers = len(weights) // 2
    for layer in range(n_layers):
        y = x @ weights[2 * layer].astype(object).T + weights[2 * layer + 1].astype(object) * tables.ACT_ONE
        largest = max(largest, max(abs(v) for v in y.flat))
        y = y // (1 << tables.WEIGHT_BITS)                      # floor
        if layer < n_layers - 1:
            y = np.vectorize(lambda v: min(max(v, 0), exact.ACT_LIMIT), otypes=[object])(y)
        x = y
    return x, largest


@pytest.mark.parametrize("out_sign", [1, -1])
def test_trunk_at_the_weight_limit_is_exact(out_sign):
    # the worst case: every weight at the limit, every term of the same sign, inputs at
    # theirs (features at FEATURE_LIMIT, the ReLU's activations clipped at ACT_LIMIT), width
    # MAX_WIDTH: the largest sums float64 must hold exactly
    cfg = NetConfig(channels=4, hidden=limits.MAX_WIDTH, layers=2, activation="relu")
    w = [np.full(s, exact.WEIGHT_LIMIT - 1, np.int64) for s in cfg.shapes()]
    w[-2] *= out_sign
    w[-1] *= out_sign
    exact.check_weights(cfg, w)
    feats = np.full((3, cfg.in_features), exact.FEATURE_LIMIT, np.int64)
    feats[1] = -exact.FEATURE_LIMIT
    feats[2, ::2] = 0
    want, largest = python_int_trunk(cfg, w, feats)
    assert largest >= limits.MAX_WIDTH * exact.ACT_LIMIT * (exact.WEIGHT_LIMIT - 1)
    got = exact.trunk(cfg, w, feats)
    assert got.dtype == np.int64 and got.tolist() == want.tolist()


_TRUNK = """
import hashlib, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from inrcodec import exact
from inrcodec.model import NetConfig
from inrcodec.walker import image_rows
cfg = NetConfig(channels=3, hidden=128, layers=3, activation=sys.argv[2])
rng = np.random.default_rng(11)
w = [rng.integers(-(1 << 17), 1 << 17, s).astype(np.int64) for s in cfg.shapes()]
img = rng.integers(0, 256, (96, 96, 3)).astype(np.int64)
out = exact.trunk(cfg, w, image_rows(img, 8)[0])
print(hashlib.sha256(out.astype('<i8').tobytes()).hexdigest())
"""


def _trunk_digest(threads: int, activation: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _TRUNK, str(ROOT), activation], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("activation", ["relu", "sine"])
def test_trunk_identical_across_thread_counts(activation):
    one, two = _trunk_digest(1, activation), _trunk_digest(2, activation)
    assert len(one) == 64 and one == two


# -- the head ------------------------------------------------------------------------

def test_bit_probability_range():
    rng = np.random.default_rng(0)
    one = exact.CDF_ONE
    a = rng.integers(0, one + 1, (3, 200_000))
    a[:, :1000] = rng.integers(0, 3, (3, 1000))                      # tiny intervals
    a[:, 1000:2000] = one - rng.integers(0, 3, (3, 1000))
    a[:, 2000:3000] = 7                                               # empty intervals
    f_lo, f_mid, f_hi = np.sort(a, axis=0)
    k = exact.bit_probability(f_lo, f_mid, f_hi)
    assert k.min() >= exact.K_MIN == 64 and k.max() <= exact.K_MAX == 65472
    assert (k[f_hi == f_lo] == tables.HALF_K).all()
    assert (k[2000:3000] == 32768).all()
    # all mass above mid: P1 is as large as allowed; all below: as small
    assert exact.bit_probability(np.array([0]), np.array([0]), np.array([one]))[0] == exact.K_MAX
    assert exact.bit_probability(np.array([0]), np.array([one]), np.array([one]))[0] == exact.K_MIN
    assert exact.bit_probability(np.array([0]), np.array([one // 2]), np.array([one]))[0] == 32768
    # format 13's clamp: [8, 65528]
    fine = exact.bit_probability(f_lo, f_mid, f_hi, exact.FINE_K_MIN, exact.FINE_K_MAX)
    assert fine.min() == exact.FINE_K_MIN == 8 and fine.max() == exact.FINE_K_MAX == 65528
    assert ((fine == k) | (k == exact.K_MIN) | (k == exact.K_MAX)).all()


class RecordingSink(ImageSink):
    """ImageSink that checks every probability it is handed (within [lo, hi]) and that some
    reach the clamp's bounds."""

    def __init__(self, img3, lo=exact.K_MIN, hi=exact.K_MAX):
        super().__init__(img3)
        self.count, self.lo, self.hi, self.seen = 0, lo, hi, set()

    def _record(self, k, bit):
        k = np.asarray(k)
        assert k.dtype.kind in "iu"
        assert ((k >= self.lo) & (k <= self.hi)).all()
        if k.size:
            self.seen.update({int(k.min()), int(k.max())})
        self.count += k.size
        super()._record(k, bit)


@pytest.mark.parametrize("backend", [COMPILED, ORACLE], ids=["compiled", "oracle"])
@pytest.mark.parametrize("bits,activation,scale", [(8, "relu", 16), (12, "sine", 18), (16, "relu", 19)])
@pytest.mark.parametrize("learner,lo,hi", [(MIX_FINE, exact.FINE_K_MIN, exact.FINE_K_MAX),
                                           (MIX2, exact.K_MIN, exact.K_MAX)], ids=["v13", "v11"])
def test_walk_probabilities_in_range_and_cost_matches(bits, activation, scale, backend, learner, lo, hi):
    img, _ = sample_rows(21, 17, 3, bits, seed=bits)
    cfg = NetConfig(channels=3, hidden=24, layers=2, activation=activation)
    w = random_weights(cfg, bits, scale)
    exact.check_weights(cfg, w)
    geom = Geometry(*img.shape, bits, learner)
    const = constant_planes(img, bits)
    rec = RecordingSink(img, lo, hi)
    assert np.array_equal(walk_constants(const, geom, rec), const)
    assert np.array_equal(walk(geom, cfg, w, const, rec, backend=backend), img)
    assert rec.count >= int((const < 0).sum()) * img.shape[0] * img.shape[1]
    assert lo in rec.seen or hi in rec.seen           # the clamp is reached: its bound is this format's
    cost = CostSink(img)
    walk_constants(const, geom, cost)
    walk(geom, cfg, w, const, cost, backend=backend)
    total = sum(exact.bits_cost(np.asarray(k), np.asarray(b)) for b, k in rec.parts)
    assert cost.cost == pytest.approx(total, rel=1e-12)
    assert cost.cost > 0


def test_bits_cost_values():
    assert exact.bits_cost(np.array([32768, 32768]), np.array([0, 1])) == pytest.approx(2.0)
    assert exact.bits_cost(np.array([16384]), np.array([1])) == pytest.approx(2.0)
    assert exact.bits_cost(np.array([16384]), np.array([0])) == pytest.approx(-np.log2(0.75))


# -- across processes and thread counts ------------------------------------------------------

_ENCODE = """
import sys
import numpy as np, torch
sys.path.insert(0, sys.argv[3])
import inrcodec
torch.set_num_threads(2)
rng = np.random.default_rng(5)
y, x = np.mgrid[:40, :40]
img = np.stack([(x * 6 + y) % 256, (y * 5) % 256, (x * y) % 256], 2).astype(np.uint8)
img = (img + rng.integers(0, 8, img.shape)).astype(np.uint8)
open(sys.argv[1], 'wb').write(inrcodec.encode(img, effort=1, prior="none"))
np.save(sys.argv[2], img)
# more pixels than a chunk: the decoder's worker threads take part
big = ((np.mgrid[:300, :240][0] * 3 + rng.integers(0, 16, (300, 240))) % 256).astype(np.uint8)
open(sys.argv[1] + ".big", 'wb').write(inrcodec.encode(big, effort=0, prior="none"))
np.save(sys.argv[2] + ".big.npy", big)
"""

_DECODE = """
import hashlib, sys
sys.path.insert(0, sys.argv[2])
import inrcodec
for path in (sys.argv[1], sys.argv[1] + ".big"):
    img = inrcodec.decode(open(path, 'rb').read())
    print(hashlib.sha256(img.tobytes()).hexdigest(), img.shape, img.dtype, 'torch' in sys.modules)
"""


def _env(threads: int) -> dict:
    """BLAS, numba and linr's own thread budget (the walker's workers: none at 1)."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads), LINR_THREADS=str(threads))


def test_decode_identical_across_processes_and_threads(tmp_path):
    path, ref = tmp_path / "a.linr", tmp_path / "a.npy"
    enc = subprocess.run([sys.executable, "-c", _ENCODE, str(path), str(ref), str(ROOT)], env=_env(2),
                         capture_output=True, text=True, timeout=300)
    assert enc.returncode == 0, enc.stderr
    img = np.load(ref)
    outs = []
    for threads in (1, 2, 4):
        dec = subprocess.run([sys.executable, "-c", _DECODE, str(path), str(ROOT)], env=_env(threads),
                             capture_output=True, text=True, timeout=300)
        assert dec.returncode == 0, dec.stderr
        outs.append(dec.stdout.strip())
    big = np.load(str(ref) + ".big.npy")
    want = (f"{hashlib.sha256(img.tobytes()).hexdigest()} (40, 40, 3) uint8 False\n"
            f"{hashlib.sha256(big.tobytes()).hexdigest()} (300, 240) uint8 False")
    assert outs == [want] * 3
    assert np.array_equal(inrcodec.decode(path.read_bytes()), img)


# -- the relu16 trunk (format 7) ----------------------------------------------------------------

def relu16_weights(cfg: NetConfig, rng, scale: float = 1.0) -> list:
    """Weights on relu16's grid: W tensors multiples of NARROW_STEP below NARROW_WEIGHT_LIMIT
    (scale 1: across the whole range), biases anywhere below WEIGHT_LIMIT."""
    out = []
    for i, shape in enumerate(cfg.shapes()):
        if i % 2 == 0:
            top = max(1, int(scale * (exact.NARROW_WEIGHT_LIMIT // exact.NARROW_STEP - 1)))
            out.append(rng.integers(-top, top + 1, shape) * exact.NARROW_STEP)
        else:
            top = max(1, int(scale * (exact.WEIGHT_LIMIT - 1)))
            out.append(rng.integers(-top, top + 1, shape))
    return [w.astype(np.int64) for w in out]


def relu16_python(cfg: NetConfig, weights: list, feats: np.ndarray) -> tuple:
    """linr.md section 6's relu16 in Python integers; also the largest |sum| of any layer."""
    x = feats.astype(object) // (1 << exact.NARROW_FEATURE_SHIFT)
    largest, n = 0, len(weights) // 2
    for i in range(n):
        s = x @ (weights[2 * i] // exact.NARROW_STEP).astype(object).T \
            + weights[2 * i + 1].astype(object) * 2
        largest = max(largest, max(abs(v) for v in s.flat))
        if i < n - 1:
            x = np.vectorize(lambda v: min(max(v // 256, 0), exact.NARROW_TOP), otypes=[object])(s)
        else:
            x = s // 8
    return x.astype(np.int64), largest


@pytest.mark.parametrize("channels,hidden,layers", [(3, 96, 3), (1, 7, 1), (4, 256, 2), (2, 40, 2)])
def test_relu16_trunk_paths_give_the_spec_integers(channels, hidden, layers):
    """Every path of the relu16 trunk (the compiled kernel's plain C, AVX2 and VNNI, and the
    float64 trunk the oracle runs) gives linr.md's integers, with weights and features at
    their limits, both clips reached, and row counts that leave partial row groups."""
    from inrcodec import kernels
    cfg = NetConfig(channels=channels, hidden=hidden, layers=layers, activation="relu16")
    rng = np.random.default_rng(hidden)
    n = 203
    feats = rng.integers(-exact.FEATURE_LIMIT, exact.FEATURE_LIMIT + 1, (n, cfg.in_features))
    feats[:20] = exact.FEATURE_LIMIT * rng.choice([-1, 1], (20, cfg.in_features))
    for scale in (1.0, 0.02):
        w = relu16_weights(cfg, rng, scale)
        exact.check_weights(cfg, w)
        want, largest = relu16_python(cfg, w, feats)
        assert largest < 2 ** 31
        assert np.array_equal(exact.trunk(cfg, w, feats), want)
        assert np.array_equal(ORACLE.trunk(cfg, w, feats), want)
        assert np.array_equal(COMPILED.trunk(cfg, w, feats), want)
        layers_ = exact.prepare(w, cfg)
        ran = 0
        for level in (kernels.TRUNK16_PLAIN, kernels.TRUNK16_AVX2, kernels.TRUNK16_VNNI):
            got = kernels.trunk16(layers_.ints, feats, cfg.out_features, level)
            if got is not None:                      # a path this CPU lacks is skipped
                assert np.array_equal(got, want), level
                ran += 1
        assert ran >= 1
        if scale == 1.0:                             # both clips of the first hidden layer reached
            s = (feats >> exact.NARROW_FEATURE_SHIFT) @ (w[0] // exact.NARROW_STEP).T + 2 * w[1]
            assert (s < 0).any() and ((s >> exact.NARROW_WEIGHT_BITS) > exact.NARROW_TOP).any()


def test_relu16_sums_stay_in_int32_at_the_limits():
    """The widest network with every weight, bias and input at its limit: the largest sum
    the spec allows still fits int32 (and the kernels agree with it there)."""
    from inrcodec import kernels
    cfg = NetConfig(channels=4, hidden=limits.MAX_WIDTH, layers=2, activation="relu16")
    top = exact.NARROW_WEIGHT_LIMIT - exact.NARROW_STEP
    w = [np.full(s, top if i % 2 == 0 else exact.WEIGHT_LIMIT - 1, np.int64) for i, s in enumerate(cfg.shapes())]
    feats = np.full((5, cfg.in_features), exact.FEATURE_LIMIT, np.int64)
    want, largest = relu16_python(cfg, w, feats)
    assert 2 ** 30 < largest < 2 ** 31
    for level in (kernels.TRUNK16_PLAIN, kernels.TRUNK16_AVX2, kernels.TRUNK16_VNNI):
        got = kernels.trunk16(exact.prepare(w, cfg).ints, feats, cfg.out_features, level)
        assert got is None or np.array_equal(got, want)
    assert np.array_equal(exact.trunk(cfg, w, feats), want)


def test_relu16_weights_off_the_grid_are_refused():
    cfg = NetConfig(channels=1, hidden=8, layers=1, activation="relu16")
    w = relu16_weights(cfg, np.random.default_rng(0))
    exact.check_weights(cfg, w)
    for i, bad in ((0, 1), (2, exact.NARROW_STEP // 2)):
        off = [x.copy() for x in w]
        off[i].flat[3] += bad
        with pytest.raises(inrcodec.FormatError, match="grid"):
            exact.check_weights(cfg, off)
    big = [x.copy() for x in w]
    big[0].flat[0] = exact.NARROW_WEIGHT_LIMIT
    with pytest.raises(inrcodec.FormatError, match="grid"):
        exact.check_weights(cfg, big)
    loose = [x.copy() for x in w]
    loose[1].flat[0] = 12345                          # biases have no grid
    exact.check_weights(cfg, loose)
    seeded = seeded_init(cfg, 7)
    exact.check_weights(cfg, seeded)                  # floored onto the grid
    assert all(not (t % exact.NARROW_STEP).any() for t in seeded[0::2])
