"""fitting.Adam is torch.optim.Adam's arithmetic on the CPU: the same weights after
every step, so the encoder's fits (and its bytes) do not depend on which is used."""
import math

import pytest

torch = pytest.importorskip("torch")

from inrcodec.fitting import Adam  # noqa: E402


@pytest.mark.parametrize("lr", [1e-3, 3e-2])
def test_adam_equals_torch(lr):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 7, generator=gen)
    y = torch.randn(256, 3, generator=gen)
    start = [torch.randn(7, 3, generator=gen), torch.zeros(3)]
    results = []
    for make in (lambda ps: torch.optim.Adam(ps, lr=lr), lambda ps: Adam(ps, lr=lr)):
        params = [t.clone().requires_grad_(True) for t in start]
        opt = make(params)
        for _ in range(40):
            loss = ((x @ params[0] + params[1] - y) ** 2).mean() + 0.1 * params[0].abs().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        results.append([p.detach() for p in params])
    for a, b in zip(*results):
        assert torch.equal(a, b)


def test_more_effort_never_fits_fewer_steps():
    """On images of BIG_IMAGE_PIXELS or more the default effort fits as BIG_IMAGE_EFFORT
    does; effort 3 must not fit less than that (it did before linr 0.5.3)."""
    from inrcodec.encoder import BIG_IMAGE_EFFORT, fit_effort
    for big in (False, True):
        got = [fit_effort(e, big) for e in range(10)]
        assert got == sorted(got), (big, got)
    assert fit_effort(2, True) == fit_effort(3, True) == BIG_IMAGE_EFFORT
    assert [fit_effort(e, False) for e in range(10)] == list(range(10))


def test_relu16_float_twin_follows_the_exact_trunk():
    """The float twin of a relu16 network rounds its features, weights and activations as the
    exact trunk does, so a fit optimises the network the decoder runs: photo-7's float outputs
    are the exact integers / 2**12 within the outputs' floor (which the twin leaves out),
    and the straight-through floor
    passes gradients inside the clip and none outside."""
    import numpy as np
    from inrcodec import exact, priors
    from inrcodec.network import FloatNet, _FloorGrid, on_grid
    from inrcodec.walker import image_rows
    p = priors.load("photo-7")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:64, :64]
    img = np.stack([(x * 3 + y) % 256, (y * 5) % 256, (x * y) % 256], 2).astype(np.int64)
    feats = image_rows(img, 8, 1.0, rng)[0]
    want = exact.trunk(p.cfg, list(p.weights), feats) / 4096.0
    with torch.no_grad():
        got = FloatNet(p.cfg, list(p.weights))(torch.from_numpy(feats / 4096.0).float()).double().numpy()
    assert np.abs(got - want).max() < 2.0 ** -11       # the outputs' own floor is 2**-12
    t = torch.tensor([-1.0, 0.3, 7.999, 9.0], requires_grad=True)
    out = _FloorGrid.apply(t, 2.0 ** -7, 0.0, 8.0)
    assert torch.equal(out, on_grid(t.detach(), 2.0 ** -7, 0.0, 8.0))
    out.sum().backward()
    assert t.grad.tolist() == [0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_floor_grid_gradient_is_the_closed_clip(dtype):
    """_FloorGrid's gradient passes where lo <= t <= hi, the bounds included, as the mask
    product it replaced did (one fused pass since linr 0.13.1): the same gradients, so the same
    fits and bytes."""
    from inrcodec.network import _FloorGrid
    lo, hi = 0.0, 8.0
    tiny = torch.finfo(dtype).tiny * torch.finfo(dtype).eps          # the smallest subnormal
    below8 = torch.nextafter(torch.tensor(hi, dtype=dtype), torch.tensor(0.0, dtype=dtype)).item()
    above8 = torch.nextafter(torch.tensor(hi, dtype=dtype), torch.tensor(9.0, dtype=dtype)).item()
    points = [-1.0, -tiny, -0.0, 0.0, tiny, 3.0, below8, hi, above8, 1e30, -1e30]
    t = torch.tensor(points, dtype=dtype, requires_grad=True)
    grad = torch.arange(1, len(points) + 1, dtype=dtype)
    _FloorGrid.apply(t, 2.0 ** -7, lo, hi).backward(grad)
    want = grad * ((t.detach() >= lo) & (t.detach() <= hi))
    assert torch.equal(t.grad, want)
    assert t.grad.tolist() == [0, 0, 3, 4, 5, 6, 7, 8, 0, 0, 0]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_head_cost_gradient_is_autograds(channels):
    """nll_bits' hand-written gradient (_HeadCost) is the one autograd takes through the
    per-channel head (nll_bits_reference): in float64 to rounding, with outputs past every
    clip, values at 0 and at the top, and sizes from -4 to 8; the costs agree in float32 too."""
    from inrcodec.network import COST_FLOOR, nll_bits, nll_bits_reference
    gen = torch.Generator().manual_seed(channels)
    n, c = 3000, channels
    width = 5 * c + c * (c - 1)
    for dtype in (torch.float64, torch.float32):
        out = torch.randn(n, width, generator=gen, dtype=dtype) * 3
        out[:300] *= 40                                   # past the clips of means, scales and weights
        anchor = torch.randint(0, 4096, (n, c), generator=gen).to(dtype)
        scale = 2.0 ** torch.randint(-3, 4, (n,), generator=gen).to(dtype)
        values = torch.randint(0, 4096, (n, c), generator=gen).to(dtype)
        values[:40], values[40:80] = 0, 4095
        top = torch.full((n,), 4096.0, dtype=dtype)
        weights = torch.rand(n, generator=gen, dtype=dtype)
        costs, grads = [], []
        for f in (nll_bits, nll_bits_reference):
            o = out.clone().requires_grad_(True)
            cost = f(o, anchor, scale, values, top)
            (g,) = torch.autograd.grad((cost * weights).sum(), o)
            costs.append(cost.detach())
            grads.append(g)
        if dtype == torch.float64:
            assert torch.allclose(costs[0], costs[1], rtol=1e-12, atol=1e-9)
            assert torch.allclose(grads[0], grads[1], rtol=1e-7, atol=1e-9 * float(grads[1].abs().max()))
            assert (grads[1] != 0).any(dim=0).all()       # every output column has a gradient somewhere
        else:
            assert torch.allclose(costs[0], costs[1], rtol=1e-3, atol=0.05)    # float32 rounding
        assert float(costs[0].max()) <= c * -math.log2(COST_FLOOR) + 1e-6
