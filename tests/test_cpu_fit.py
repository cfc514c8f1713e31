"""The encoder's delta fit on the CPU (cpu_fit.py) against torch's (fitting.py, network.py):
the same costs and gradients to float32 rounding, the same Adam, and a fit that lowers the
code length and gives the same delta every time."""
import numpy as np
import pytest

from inrcodec import cpu_fit, kernels
from inrcodec.model import NetConfig, seeded_init
from inrcodec.tables import ACT_ONE

torch = pytest.importorskip("torch")
from inrcodec.fitting import Adam  # noqa: E402
from inrcodec.network import FloatNet, nll_bits  # noqa: E402


def _rows(cfg, n, rng):
    """n training rows of random features, values of 8 to 16 bits and anchors near them."""
    bits = rng.choice([8, 12, 16], n)
    top = 2.0 ** bits
    values = np.floor(rng.random((n, cfg.channels)) * top[:, None])
    anchor = np.clip(values + rng.normal(0, 3, values.shape) * 2.0 ** (bits[:, None] - 8), 0, top[:, None] - 1)
    feats = rng.integers(-6 * ACT_ONE, 6 * ACT_ONE, (n, cfg.in_features))
    return feats, anchor, bits - 8, values, bits


def _net(cfg, rng):
    base = [b + rng.integers(-3000, 3000, b.shape) for b in seeded_init(cfg, 3)]   # outputs not all zero
    net = cpu_fit.CpuNet(cfg, base)
    for d in net.delta:
        d[:] = rng.normal(0, 0.01, d.shape)
    tnet = FloatNet(cfg, base, grid_weights=False)
    with torch.no_grad():
        for td, d in zip(tnet.delta, net.delta):
            td.copy_(torch.from_numpy(d))
    return net, tnet


@pytest.mark.parametrize("activation", ["relu", "relu16"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_costs_and_gradients_match_torch(activation, channels):
    rng = np.random.default_rng(channels)
    cfg = NetConfig(channels=channels, hidden=16, layers=2, activation=activation)
    rows = _rows(cfg, 300, rng)
    net, tnet = _net(cfg, rng)
    data = cpu_fit.prepare(rows)
    head = [data[k] for k in ("anchor", "scale", "values", "top")]
    total, grads = cpu_fit.gradients(net, cpu_fit.inputs(net, data["feats"]), head)
    t = {k: torch.from_numpy(v) for k, v in data.items() if k != "feats"}
    x = torch.from_numpy(rows[0].astype(np.float32) / ACT_ONE)
    cost = nll_bits(tnet(x), t["anchor"], t["scale"], t["values"], t["top"])
    cost.mean().backward()
    assert total == pytest.approx(float(cost.detach().sum()), rel=1e-5)
    for i, p in enumerate(tnet.delta):
        want = p.grad.numpy()
        # float32 in another order: a residual's size (a floor of a log) may step differently
        assert np.abs(grads[i] - want).max() <= 1e-2 * np.abs(want).max() + 1e-7, i


def test_the_last_layer_alone_from_the_hidden_activations():
    """With only the last layer fitted, the layers below run once and the gradient stops there."""
    rng = np.random.default_rng(7)
    cfg = NetConfig(channels=3, hidden=16, layers=2, activation="relu16")
    data = cpu_fit.prepare(_rows(cfg, 200, rng))
    net, _ = _net(cfg, rng)
    head = [data[k] for k in ("anchor", "scale", "values", "top")]
    x = cpu_fit.inputs(net, data["feats"])
    total, grads = cpu_fit.gradients(net, x, head)
    low_total, low = cpu_fit.gradients(net, net.forward(x, 0, 2), head, lowest=2)
    assert low_total == pytest.approx(total, rel=1e-6)
    assert sorted(low) == [4, 5]
    for i in (4, 5):
        np.testing.assert_allclose(low[i], grads[i], rtol=1e-5, atol=1e-7)


def test_activations_pass_their_gradient_where_torch_does():
    """relu16's floor grid (network._FloorGrid) and relu's hardtanh, at and around their bounds."""
    t = np.array([[-1.0, -0.0, 0.0, 0.004, 0.0078125, 3.3, 7.99, 8.0, 8.01, 255.9, 256.0, 300.0]], np.float32)
    b = np.zeros(t.shape[1], np.float32)
    for narrow in (True, False):
        z, passed = t.copy(), np.empty(t.shape, np.uint8)
        kernels.fit_activate(z, b, narrow, passed)
        cfg = NetConfig(channels=1, activation="relu16" if narrow else "relu")
        tnet = FloatNet(cfg, seeded_init(cfg, 0))
        x = torch.from_numpy(t.copy()).requires_grad_(True)
        y = tnet._activation(x)
        y.sum().backward()
        np.testing.assert_array_equal(z, y.detach().numpy())
        np.testing.assert_array_equal(passed, (x.grad.numpy() != 0).astype(np.uint8))
        g, g_bias = np.ones(t.shape, np.float32), np.empty(t.shape[1], np.float32)
        kernels.fit_pass(g, passed, g_bias)
        np.testing.assert_array_equal(g, x.grad.numpy())
        np.testing.assert_array_equal(g_bias, x.grad.numpy()[0])


@pytest.mark.parametrize("l1", [0.0, 0.01])
def test_adam_is_torchs(l1):
    rng = np.random.default_rng(3)
    p = rng.normal(0, 1, 50).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    tp = torch.nn.Parameter(torch.from_numpy(p.copy()))
    opt = Adam([tp], lr=2e-3)
    for step in range(1, 30):
        g = rng.normal(0, 1, 50).astype(np.float32)
        tp.grad = torch.from_numpy(g + l1 * np.sign(tp.detach().numpy()))
        opt.step()
        kernels.fit_adam(p, g, m, v, 2e-3, cpu_fit.BETAS, cpu_fit.EPS, step, l1)
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=0, atol=1e-6)


def test_fit_lowers_the_code_length_and_repeats_itself():
    rng = np.random.default_rng(11)
    cfg = NetConfig(channels=3, hidden=16, layers=2, activation="relu16")
    data = cpu_fit.prepare(_rows(cfg, 2000, rng))
    base = seeded_init(cfg, 3)
    runs = []
    for _ in range(2):
        net = cpu_fit.CpuNet(cfg, base)
        first = cpu_fit.train(net, data, 1, trainable=list(range(6)), lr=3e-3, batch=512, seed=4)
        last = cpu_fit.train(net, data, 60, trainable=list(range(6)), lr=3e-3, batch=512, seed=4)
        runs.append((first, last, [d.copy() for d in net.delta]))
    assert runs[0][1] < runs[0][0] - 0.05
    assert runs[0][:2] == runs[1][:2]
    for a, b in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(a, b)


def test_qat_rounds_the_delta_in_the_forward_pass():
    cfg = NetConfig(channels=1, hidden=8, layers=1, activation="relu")
    net = cpu_fit.CpuNet(cfg, seeded_init(cfg, 1))
    net.delta[0][:] = 0.3
    fitter = cpu_fit.CpuFitter((np.zeros((1, cfg.in_features), np.int64), np.zeros((1, 1)), np.zeros(1),
                                np.zeros((1, 1)), np.full(1, 8)))
    fitter.quantise(net, {0: 2})
    np.testing.assert_array_equal(net.weights()[0] - net.base[0], np.float32(0.25))
    fitter.quantise(net, None)
    np.testing.assert_allclose(net.weights()[0] - net.base[0], 0.3, rtol=1e-6)
    assert fitter.delta(net, 0).dtype == np.float64
    with pytest.raises(ValueError):
        fitter.train(net, 1, trainable=[0], until_ber0=True)


def test_the_fitted_file_does_not_depend_on_the_thread_budget():
    """Each step's two halves run side by side or one after the other: the same delta, so the
    same file, on 1 or 2 threads (a seeded network on a small noisy image fits at effort 3)."""
    import inrcodec
    from inrcodec import threads
    rng = np.random.default_rng(2)
    y, x = np.mgrid[:48, :40]
    img = np.clip(np.stack([x * 5, y * 4, x + y], axis=2) + rng.integers(0, 12, (48, 40, 3)), 0, 255)
    img = img.astype(np.uint8)
    files = []
    try:
        for budget in (1, 2):
            threads.configure(budget)
            files.append(inrcodec.encode(img, effort=3, prior="none", filter="never", palette="never"))
    finally:
        threads.configure(None)
    assert files[0] == files[1]
    assert np.array_equal(inrcodec.decode(files[0]), img)
    assert inrcodec.info(files[0])["delta_tensors"] > 0             # a delta was fitted
