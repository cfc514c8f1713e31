"""Bit-exact round trips through the public API (format 2): synthetic arrays,
the verify step, info(), colour order, custom priors, real data."""
import hashlib

import numpy as np
import pytest

import inrcodec
from inrcodec import codec, encoder, priors
from conftest import DATA, need


def roundtrip(img, **opts):
    opts.setdefault("effort", 0)
    opts.setdefault("prior", "none")
    data = inrcodec.encode(img, **opts)
    back = inrcodec.decode(data, prior=opts["prior"] if isinstance(opts["prior"], bytes) else None)
    assert back.dtype == img.dtype and back.shape == img.shape
    assert np.array_equal(back, img)
    assert back.flags.c_contiguous
    return data


def gradient(h, w, c=None, dtype=np.uint8, seed=0, noise=4):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    y, x = np.mgrid[:h, :w]
    planes = [(x * (top // max(w, 1)) + y * (top // max(2 * h, 1)) + k * top // 5) % (top + 1)
              for k in range(c or 1)]
    img = np.stack(planes, 2) if c else planes[0]
    img = np.clip(img + rng.integers(-noise, noise + 1, img.shape) * (top // 255), 0, top)
    return img.astype(dtype)


RNG = np.random.default_rng(1)
SYNTHETIC = {
    "1x1": np.array([[200]], np.uint8),
    "1x1x3_16bit": np.array([[[1, 65535, 300]]], np.uint16),
    "1xN": RNG.integers(0, 256, (1, 37), dtype=np.uint8),
    "Nx1": RNG.integers(0, 256, (29, 1), dtype=np.uint8),
    "constant": np.full((17, 23), 91, np.uint8),
    "zeros": np.zeros((8, 8), np.uint8),
    "zeros_16bit_rgb": np.zeros((5, 3, 3), np.uint16),
    "noise_gray": RNG.integers(0, 256, (13, 29), dtype=np.uint8),
    "noise_rgb_odd": RNG.integers(0, 256, (9, 31, 3), dtype=np.uint8),
    "noise_rgba": RNG.integers(0, 256, (12, 10, 4), dtype=np.uint8),
    "noise_gray_alpha": RNG.integers(0, 256, (11, 7, 2), dtype=np.uint8),
    "noise_gray_alpha_16": RNG.integers(0, 65536, (7, 5, 2), dtype=np.uint16),
    "noise_16bit": RNG.integers(0, 65536, (16, 16), dtype=np.uint16),
    "noise_rgb_16bit": RNG.integers(0, 65536, (9, 11, 3), dtype=np.uint16),
    "noise_rgba_16bit": RNG.integers(0, 65536, (5, 13, 4), dtype=np.uint16),
    "grad_gray": gradient(31, 45),
    "grad_rgb": gradient(27, 33, 3, seed=2),
    "grad_rgba": gradient(19, 21, 4, seed=3),
    "grad_gray_alpha": gradient(15, 17, 2, seed=4),
    "grad_gray_16": gradient(23, 19, dtype=np.uint16, seed=5),
    "grad_rgb_16": gradient(21, 18, 3, dtype=np.uint16, seed=6),
    "one_bit": (RNG.random((20, 20)) > 0.5).astype(np.uint8),
    "tall": RNG.integers(0, 4, (70, 3), dtype=np.uint8),
    "wide": RNG.integers(0, 4, (3, 70), dtype=np.uint8),
    "hxwx1": RNG.integers(0, 256, (6, 6, 1), dtype=np.uint8),
    "hxwx1_16": RNG.integers(0, 4096, (7, 5, 1), dtype=np.uint16),
    "ramp_12bit": (np.arange(40 * 40).reshape(40, 40) % 4096).astype(np.uint16),
    "small_values_in_uint16": RNG.integers(0, 200, (9, 9), dtype=np.uint16),
    "multiples_of_16": (RNG.integers(0, 16, (12, 12, 3)) * 16).astype(np.uint8),
    "top_bit_only": (0x35 | (RNG.integers(0, 2, (10, 14)) << 7)).astype(np.uint8),
    "opaque_alpha": np.concatenate([RNG.integers(0, 256, (8, 9, 3)), np.full((8, 9, 1), 255)],
                                   2).astype(np.uint8),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic(name):
    roundtrip(SYNTHETIC[name])


def test_shape_and_dtype_kept():
    a = RNG.integers(0, 256, (6, 7), dtype=np.uint8)
    b = a[:, :, None].copy()
    assert inrcodec.decode(roundtrip(a)).shape == (6, 7)
    assert inrcodec.decode(roundtrip(b)).shape == (6, 7, 1)
    assert inrcodec.info(roundtrip(a))["shape"] == [6, 7]
    assert inrcodec.info(roundtrip(b))["shape"] == [6, 7, 1]
    small16 = a.astype(np.uint16)
    assert inrcodec.decode(roundtrip(small16)).dtype == np.uint16
    assert inrcodec.info(roundtrip(small16))["dtype"] == "uint16"
    # non-contiguous views round-trip too
    big = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    roundtrip(big[::2, 1::3])
    roundtrip(big[:, :, ::-1])


def test_default_prior_choice_round_trips():
    # whatever built-in priors are installed right now
    roundtrip(gradient(14, 15), prior="auto")
    roundtrip(gradient(14, 15, 3), prior="auto")


def test_fitting_paths_are_exact():
    y, x = np.mgrid[:20, :20]
    img = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], axis=2).astype(np.uint8)
    data = roundtrip(img, effort=1, filter="never")              # seeded init + fitted delta
    assert inrcodec.info(data)["delta_tensors"] > 0              # a delta pays on a structured image
    roundtrip(img[:, :, 0].copy(), effort=1, mode="ber0")
    roundtrip(img[:12, :12, :2].copy(), effort=1, activation="sine", hidden=8, layers=1)
    data = roundtrip(gradient(12, 12, dtype=np.uint16, seed=9), effort=1, hidden=8, layers=3)
    assert inrcodec.info(data)["model"]["layers"] == 3


def test_constant_image_is_small():
    data = roundtrip(np.full((64, 64), 255, np.uint8))
    assert len(data) < 64
    data = roundtrip(np.full((64, 64, 3), 65535, np.uint16))
    assert len(data) < 80


def test_seed_is_stored_and_used():
    img = gradient(9, 9)
    a, b = inrcodec.encode(img, effort=0, prior="none", seed=0), inrcodec.encode(img, effort=0, prior="none", seed=7)
    assert inrcodec.info(a)["seed"] == 0 and inrcodec.info(b)["seed"] == 7
    assert np.array_equal(inrcodec.decode(b), img)
    assert inrcodec.encode(img, effort=0, prior="none", seed=7) == b        # deterministic


# -- the verify step ------------------------------------------------------------------------

def test_verify_catches_a_wrong_decode(monkeypatch):
    img = gradient(8, 9)
    real = codec.decoder.decode
    calls = []

    def broken(data, **kw):
        calls.append(1)
        out = real(data, **kw).copy()
        out[0, 0] ^= 1
        return out
    monkeypatch.setattr(codec.decoder, "decode", broken)
    with pytest.raises(inrcodec.VerificationError):
        inrcodec.encode(img, effort=0, prior="none")
    assert calls
    calls.clear()
    data = inrcodec.encode(img, effort=0, prior="none", verify=False)     # no decode at all
    assert not calls
    monkeypatch.setattr(codec.decoder, "decode", real)
    assert np.array_equal(inrcodec.decode(data), img)


def test_check_round_trip():
    a = np.zeros((3, 4), np.uint8)
    encoder.check_round_trip(a, a.copy())
    for bad in (a.astype(np.uint16), a[:, :, None], np.ones_like(a), a[:, :3]):
        with pytest.raises(inrcodec.VerificationError):
            encoder.check_round_trip(a, bad)


# -- info -----------------------------------------------------------------------------------

INFO_KEYS = {"width", "height", "channels", "bit_depth", "dtype", "shape", "color_order", "model",
             "prior", "prior_id", "seed", "bytes", "chunks", "bpp"}


def test_info_keys_and_values():
    img = gradient(10, 13, 3, dtype=np.uint16, seed=1) >> 4       # 12-bit samples
    data = roundtrip(img, seed=5)
    meta = inrcodec.info(data)
    assert INFO_KEYS <= set(meta)
    assert (meta["width"], meta["height"], meta["channels"], meta["bit_depth"]) == (13, 10, 3, 12)
    assert meta["dtype"] == "uint16" and meta["shape"] == [10, 13, 3]
    assert meta["color_order"] == "bgr"
    assert meta["prior"] is None and meta["prior_id"] is None and meta["seed"] == 5
    assert meta["bytes"] == len(data)
    assert set(meta["chunks"]) >= {"H", "D"} and meta["chunks"]["D"] > 0
    assert meta["bpp"] == pytest.approx(8 * len(data) / 130)
    assert {"hidden", "layers", "activation"} <= set(meta["model"])
    gray = inrcodec.info(roundtrip(gradient(5, 6)))
    assert gray["color_order"] == "gray" and gray["dtype"] == "uint8" and gray["shape"] == [5, 6]
    assert gray["channels"] == 1


def test_color_order_rgb():
    img = gradient(11, 12, 3, seed=8)
    data = roundtrip(img, color_order="rgb")
    assert inrcodec.info(data)["color_order"] == "rgb"
    assert inrcodec.info(roundtrip(img))["color_order"] == "bgr"
    rgba = gradient(7, 6, 4, seed=3)
    assert inrcodec.info(roundtrip(rgba, color_order="rgb"))["color_order"] == "rgb"
    # the file states R, G, B: the same pixels given in the other order code the same way
    a = inrcodec.encode(img, effort=0, prior="none", color_order="rgb")
    b = inrcodec.encode(img[:, :, ::-1].copy(), effort=0, prior="none")
    assert container_data(a) == container_data(b)
    # gray and gray + alpha have no colour order: "rgb" is accepted and means nothing
    assert inrcodec.info(roundtrip(gradient(4, 5), color_order="rgb"))["color_order"] == "gray"
    assert inrcodec.info(roundtrip(gradient(4, 5, 2), color_order="rgb"))["color_order"] == "gray"
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(img, color_order="bgr-ish")


def container_data(data):
    from inrcodec import container
    return container.read(data).get(container.DATA)


def test_bad_arguments_rejected():
    for bad in (np.zeros((4, 4), np.int32), np.zeros((4, 4, 5), np.uint8), np.zeros((0, 3), np.uint8),
                np.zeros((2, 2, 2, 2), np.uint8), [[1, 2]]):
        with pytest.raises(inrcodec.ImageError):
            inrcodec.encode(bad)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(np.zeros((4, 4), np.uint8), effort=42)
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(np.zeros((4, 4), np.uint8), prior="no-such-prior")
    with pytest.raises(inrcodec.LinrError):
        inrcodec.decode("not bytes")
    with pytest.raises(inrcodec.LimitError):
        inrcodec.decode(roundtrip(gradient(10, 10)), max_pixels=99)


# -- custom priors ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def custom_prior():
    from inrcodec.training import train_prior
    y, x = np.mgrid[:16, :16]
    imgs = [((x * s + y * t) % 256).astype(np.uint8) for s, t in ((3, 5), (7, 2), (1, 9))]
    return train_prior(imgs, steps=30, hidden=8, name="test-prior")


@pytest.fixture
def isolated_search_path(tmp_path, monkeypatch):
    monkeypatch.delenv("LINR_PRIOR_PATH", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_custom_prior(custom_prior, isolated_search_path, monkeypatch):
    pb = custom_prior
    p = priors.unpack(pb)
    tag = hashlib.sha256(pb).digest()[:8]
    assert p.name == "test-prior" and p.cfg.hidden == 8 and p.tag == tag
    assert priors.pack(p.name, p.cfg, p.weights, p.meta) == pb            # pack/unpack are inverse
    img = gradient(13, 14, seed=2)
    data = roundtrip(img, prior=pb)
    meta = inrcodec.info(data, prior=pb)
    assert meta["prior_id"] == tag.hex() and meta["prior"] == "test-prior" and meta["seed"] is None
    assert meta["model"]["hidden"] == 8
    assert inrcodec.info(data)["prior_id"] == tag.hex()                   # info works without it
    # decoding without the prior: a PriorError naming its id
    with pytest.raises(inrcodec.PriorError, match=tag.hex()):
        inrcodec.decode(data)
    # ... found by digest on LINR_PRIOR_PATH, whatever the file is called
    folder = isolated_search_path / "priors"
    folder.mkdir()
    (folder / "x.linrp").write_bytes(pb)
    (folder / "other.linrp").write_bytes(b"not a prior")
    monkeypatch.setenv("LINR_PRIOR_PATH", str(folder))
    assert np.array_equal(inrcodec.decode(data), img)
    # a prior given as a path
    assert np.array_equal(inrcodec.decode(inrcodec.encode(img, effort=0, prior=str(folder / "x.linrp"))),
                          img)


def test_custom_prior_with_fitting(custom_prior, isolated_search_path):
    roundtrip(gradient(12, 11, seed=4), prior=custom_prior, effort=1)


def test_custom_prior_wrong_prior_or_channels(custom_prior, isolated_search_path):
    with pytest.raises(inrcodec.LinrError):
        inrcodec.encode(gradient(6, 6, 3), prior=custom_prior, effort=0)
    data = inrcodec.encode(gradient(6, 6), prior=custom_prior, effort=0)
    p = priors.unpack(custom_prior)
    other = priors.pack("other", p.cfg, [w + 1 for w in p.weights])       # same shape, other digest
    with pytest.raises(inrcodec.PriorError):
        inrcodec.decode(data, prior=other)
    with pytest.raises(inrcodec.PriorError):
        inrcodec.decode(data, prior=b"\x89LNRP\r\ngarbage")


# -- real data --------------------------------------------------------------------------------

def _idx(path, count):
    from inrcodec.bench.datasets import read_idx
    return read_idx(path)[:count]


def test_mnist_samples():
    for img in _idx(need(DATA / "mnist" / "t10k-images-idx3-ubyte.gz"), 5):
        img = np.ascontiguousarray(img)
        data = roundtrip(img)
        assert 8 * len(data) / 784 < 8                        # seeded network, no fit: still < raw


def test_img16_crops():
    import cv2
    files = sorted(need(DATA / "img16" / "crops64").glob("*.png"))
    assert len(files) >= 3
    for path in files[:3]:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert img is not None and img.dtype == np.uint16
        roundtrip(img)


@pytest.mark.slow
def test_default_effort_on_digits():
    for img in _idx(need(DATA / "mnist" / "t10k-images-idx3-ubyte.gz"), 3):
        roundtrip(np.ascontiguousarray(img), effort=inrcodec.DEFAULT_EFFORT, prior="auto")


def test_fitted_tensor_all_zero_after_quantisation(monkeypatch):
    # QAT must still run when one fitted tensor quantises to all zeros (the bias here)
    torch = pytest.importorskip("torch")
    from inrcodec import fitting

    real_train = fitting.train

    def train(net, data, steps, **kw):
        loss = real_train(net, data, steps, **kw)
        with torch.no_grad():
            net.delta[len(net.delta) - 1].zero_()
        return loss
    monkeypatch.setattr(fitting, "train", train)
    img = gradient(128, 128, seed=5)         # with mixing, a delta no longer pays at 64x64
    assert inrcodec.info(roundtrip(img, effort=2, prior="none"))["delta_tensors"] >= 1
