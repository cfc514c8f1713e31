"""Format 8's weight sets and SSE rows, format 9's match counter and format 11's settled decisions
(inrcodec/mixing.py, linr.md sections 8.3 to 8.5), one decision at a time through the oracle's MixedPlane, which the compiled kernel is compared with in
test_backend and test_conformance."""
import numpy as np

from inrcodec import mixing
from inrcodec.exact import FINE_K_MAX, FINE_K_MIN, K_MAX, K_MIN
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


def plane(mixer, qa: int, a: int, b: int = 3, nearest=(0, 0, 0, 0)):
    """A MixedPlane of channel 0, plane b, over one pixel with activity qa, anchor a and the
    4 nearest neighbours' values."""
    context = mixing.pack_context([[a]], [[a]], [[qa]], [[0]], [[1]])
    near = mixing.pack_near(np.array(nearest).reshape(4, 1, 1))
    return MixedPlane(mixer, 0, b, context, near, [a], [0])


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
    assert (sets[0] == [0, 0, 0, 0, mixing.NET_WEIGHT, 0, 0]).all() and (sets[3] != sets[0]).any()
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


def test_match_context():
    """Per neighbour, in base 3 (the first the most significant): 0 where its bits above plane
    b differ from the value's prefix lo, else 1 + its bit b."""
    near = int(mixing.pack_near(np.array([0b1011, 0b1001, 0b0011, 0b1010]).reshape(4, 1, 1))[0, 0])
    # plane 1 of a value whose bits above it are 10: the neighbours' bits above 1 are 10, 10, 00, 10
    assert mixing.match_context(near, 0b1000, 1) == 2 * 27 + 1 * 9 + 0 * 3 + 2
    # plane 3 (the top): every neighbour agrees with the empty prefix
    assert mixing.match_context(near, 0, 3) == 2 * 27 + 2 * 9 + 1 * 3 + 2
    assert mixing.match_context(0, 0, 15) == 40 and mixing.match_context(-1, 0, 15) == 80
    big = int(mixing.pack_near(np.array([65535, 40000, 0, 1]).reshape(4, 1, 1))[0, 0])   # a negative int64
    assert mixing.match_context(big, 0, 15) == 2 * 27 + 2 * 9 + 1 * 3 + 1


def test_the_match_counter_learns_to_repeat_a_neighbour():
    """Values that repeat the first nearest neighbour's, where the network says 1/2 and the
    anchor tells nothing: format 9's mixer comes to code them almost for free, format 8's
    does not."""
    rng = np.random.default_rng(3)
    ks = {}
    for matched in (False, True):
        mixer = mixing.Mixer(1, 8, refined=True, matched=matched)
        for _ in range(400):
            v = int(rng.integers(0, 256))
            nearest = (v, int(rng.integers(0, 256)), int(rng.integers(0, 256)), int(rng.integers(0, 256)))
            p = plane(mixer, 6, 128, b=3, nearest=nearest)
            p.k(0, HALF, v & ~15)
            p.learn((v >> 3) & 1)
        ks[matched] = [plane(mixer, 6, 128, b=3, nearest=(v, 7, 200, 31)).k(0, HALF, v & ~15) for v in (8, 0)]
    assert ks[True][0] > 0.9 * 65536 and ks[True][1] < 0.1 * 65536       # bit 3 of 8 is 1, of 0 is 0
    assert all(abs(k - HALF) < 0.1 * 65536 for k in ks[False])
    assert mixer.match.size == 8 * mixing.MATCH_CELLS and mixing.Mixer(1, 8, refined=True).match.size == 1


def state(mixer):
    return [getattr(mixer, n).copy() for n in ("prefix", "cells", "weights", "sse", "match")]


def test_a_settled_decision_teaches_nothing():
    """Format 11 (linr.md section 8.5): a decision coded at the clamp whose bit is the expected
    one leaves every weight and counter as it was; the unexpected bit, or format 10's mixer,
    learns from it."""
    for k_net, expected in ((65535, 1), (1, 0)):
        settling = mixing.Mixer(1, 8, second=True)
        assert settling.matched and settling.refined
        for _ in range(60):                              # the mix comes to sit at the clamp
            p = plane(settling, 6, 128)
            p.k(0, k_net, 0)
            p.learn(expected)
        p = plane(settling, 6, 128)
        assert p.k(0, k_net, 0) == (K_MAX if expected else K_MIN)
        before = state(settling)
        p.learn(expected)
        assert all(np.array_equal(a, b) for a, b in zip(before, state(settling)))
        p = plane(settling, 6, 128)
        p.k(0, k_net, 0)
        p.learn(1 - expected)                            # a surprise is learnt
        assert not all(np.array_equal(a, b) for a, b in zip(before, state(settling)))
        learning = mixing.Mixer(1, 8, matched=True)       # format 10 learns from every decision
        p = plane(learning, 6, 128)
        p.k(0, k_net, 0)
        before = state(learning)
        p.learn(expected)
        assert not all(np.array_equal(a, b) for a, b in zip(before, state(learning)))


def test_the_fine_clamp_is_reached_and_settles_there():
    """Format 13 (linr.md section 8.6): the same sure decisions go on to k' = 8 / 65528 where
    format 12's mixer stops at 64 / 65472, and a decision settles at the fine clamp: at
    format 12's clamp it still learns."""
    for k_net, expected in ((65535, 1), (1, 0)):
        fine, coarse = mixing.Mixer(1, 8, fine=True), mixing.Mixer(1, 8, second=True)
        assert fine.second and fine.matched and not coarse.fine
        seen = set()
        for _ in range(200):
            p = plane(fine, 6, 128)
            seen.add(p.k(0, k_net, 0))
            p.learn(expected)
            q = plane(coarse, 6, 128)
            q.k(0, k_net, 0)
            q.learn(expected)
        assert (FINE_K_MAX if expected else FINE_K_MIN) in seen
        assert plane(coarse, 6, 128).k(0, k_net, 0) == (K_MAX if expected else K_MIN)
        p = plane(fine, 6, 128)
        assert p.k(0, k_net, 0) == (FINE_K_MAX if expected else FINE_K_MIN)
        before = state(fine)
        p.learn(expected)
        assert all(np.array_equal(a, b) for a, b in zip(before, state(fine)))


def test_a_sure_image_needs_format_13s_work_bound():
    """Format 13's decisions may cost 2^-13 / ln 2 bit: an honest stream of a nearly flat image
    holds more decisions a coded bit than format 12's bound (2^11) allowed, and decodes under
    format 13's (2^14)."""
    import inrcodec
    from inrcodec import container, decoder
    from inrcodec.groups import unpack_streams
    img = np.full((384, 384, 3), 77, np.uint8)
    img[5, 7] = (200, 3, 129)                        # every plane of every channel coded
    data = inrcodec.encode(img, effort=0, prior="none", palette="never", filter="never")
    assert np.array_equal(inrcodec.decode(data), img)
    (stream,) = unpack_streams(bytes(container.read(data).get(b"D")), 1)
    decisions = 24 * 384 * 384
    bits = 8 * len(stream) + decoder.STREAM_SLACK_BITS
    assert bits << decoder.DECISIONS_PER_BIT_LOG2 < decisions <= bits << decoder.FINE_DECISIONS_PER_BIT_LOG2


def test_the_second_mixer_starts_silent_and_is_weighed_in():
    """Format 11 (linr.md section 8.5): the final mixer starts at (1, 0), so a fresh mixer codes
    as format 10's; as decisions teach it, the second mixer (its set by the network's confidence
    and the neighbours agreeing) gains weight and moves away from its start."""
    for k_net in (300, 20000, HALF, 50000):
        two = plane(mixing.Mixer(1, 8, second=True), 6, 128).k(0, k_net, 0)
        one = plane(mixing.Mixer(1, 8, matched=True), 6, 128).k(0, k_net, 0)
        assert two == one
    mixer = mixing.Mixer(1, 8, second=True)
    rng = np.random.default_rng(5)
    for _ in range(400):
        v = int(rng.integers(0, 256))
        p = plane(mixer, 6, 128, b=3, nearest=(v, v, v, int(rng.integers(0, 256))))
        p.k(0, int(rng.integers(20000, 45000)), v & ~15)
        p.learn((v >> 3) & 1)
    cb = 3                                       # channel 0, plane 3
    assert mixer.final[cb, 1] > 0 and mixer.final[cb, 0] != mixing.FINAL_START[0]
    sets = mixer.weights2.reshape(8, mixing.SECOND_SETS, mixing.INPUTS)[cb]
    fresh = [0, 0, 0, 0, mixing.NET_WEIGHT, 0, 0]
    assert (sets[3] != fresh).any()              # confidence 0, 3 neighbours agree
    assert (sets[0] == fresh).all() and (mixer.final[:cb] == mixing.FINAL_START).all()
