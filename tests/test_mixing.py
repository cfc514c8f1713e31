"""Format 8's weight sets and SSE rows (inrcodec/mixing.py, linr.md section 8.3), one decision
at a time through the oracle's MixedPlane, which the compiled kernel is compared with in
test_backend and test_conformance."""
import numpy as np

from inrcodec import mixing
from inrcodec.oracle import MixedPlane

HALF = 1 << 15


def test_sse_rows_start_as_the_identity():
    """Knot t holds squash(256 t - 3072): a fresh row maps the mix's probability to itself,
    within the interpolation's error."""
    start = mixing.sse_start()
    p = (start >> 8) >> (mixing.COUNTER_BITS - 16)                  # 2**-16 units
    assert len(start) == mixing.SSE_KNOTS and (start & 255 == mixing.SSE_START_COUNT).all()
    knots = np.clip(256 * np.arange(mixing.SSE_KNOTS) - 3072, -mixing.ST_LIMIT, mixing.ST_LIMIT)
    assert np.array_equal(p, mixing.squash()[knots + mixing.ST_LIMIT])
    assert (np.diff(p) >= 0).all() and p[12] == HALF


def plane(mixer, qa: int, a: int, b: int = 3):
    """A MixedPlane of channel 0, plane b, over one pixel with activity qa and anchor a."""
    context = mixing.pack_context([[a]], [[a]], [[qa]], [[0]], [[1]])
    return MixedPlane(mixer, 0, b, context, [a], [0])


def test_a_fresh_refined_mixer_codes_as_the_network():
    for k_net in (200, 9000, HALF, 60000):
        refined = plane(mixing.Mixer(1, 8, refined=True), 5, 100).k(0, k_net, 0)
        plain = plane(mixing.Mixer(1, 8), 5, 100).k(0, k_net, 0)
        assert abs(refined - plain) <= 0.01 * 65536 + 8


def test_weight_sets_and_sse_rows_learn_apart_by_activity():
    """Ones every time at activity 13 (set 3, SSE row 13) with the anchor far above the plane's
    midpoint (row 16 + 7 + 7): the coder's k there rises. At activity 2 with the anchor at the
    midpoint (set 0, rows 2 and 16 + 7) nothing was learnt, so k stays the network's."""
    mixer = mixing.Mixer(1, 8, refined=True)
    for _ in range(300):
        busy = plane(mixer, 13, 100)
        busy.k(0, HALF, 0)
        busy.learn(1)
    assert plane(mixer, 13, 100).k(0, HALF, 0) > 0.9 * 65536
    calm = plane(mixer, 2, 8)                       # mid = 0 + 2**3
    assert abs(calm.k(0, HALF, 0) - HALF) < 0.02 * 65536
    sets = mixer.weights.reshape(8, mixing.WEIGHT_SETS, mixing.INPUTS)[3]
    assert (sets[0] == [0, 0, 0, 0, mixing.NET_WEIGHT, 0]).all() and (sets[3] != sets[0]).any()
    rows = mixer.sse.reshape(8, mixing.SSE_ROWS, mixing.SSE_KNOTS)[3]
    assert (rows[2] == mixing.sse_start()).all() and (rows[16 + 7] == mixing.sse_start()).all()
    assert (rows[13] != mixing.sse_start()).any() and (rows[16 + 7 + 7] != mixing.sse_start()).any()


def test_an_unrefined_mixer_has_one_weight_set_and_no_rows():
    """Formats 5-7 (refined=False) keep their state as released: the frozen vectors of
    conformance/v5..v7 decode through it."""
    mixer = mixing.Mixer(3, 8)
    assert mixer.weights.shape == (24, mixing.INPUTS) and mixer.sse.size == mixing.SSE_KNOTS
    refined = mixing.Mixer(3, 8, refined=True)
    assert refined.weights.shape == (24 * mixing.WEIGHT_SETS, mixing.INPUTS)
    assert refined.sse.size == 24 * mixing.SSE_ROWS * mixing.SSE_KNOTS
    copy = refined.copy()
    copy.sse[0] += 256
    assert refined.sse[0] != copy.sse[0] and copy.refined
