"""fitting.Adam is torch.optim.Adam's arithmetic on the CPU: the same weights after
every step, so the encoder's fits (and its bytes) do not depend on which is used."""
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
