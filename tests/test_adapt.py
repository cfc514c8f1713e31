"""The adaptive refinement of format 3 (inrcodec/adapt.py, linr.md section 8.1)."""
import numpy as np

from inrcodec import exact
from inrcodec.adapt import BUCKETS, COUNT_LIMIT, Adapt, edges
from inrcodec.tables import cdf_table


def test_edges_are_the_spec_cells():
    e = edges()
    assert len(e) == BUCKETS and list(e) == [int(cdf_table()[2048 + 128 * i]) >> 14 for i in range(33)]
    assert e[0] <= exact.K_MIN and e[-1] > exact.K_MAX and (np.diff(e) > 0).all()


def test_fresh_tables_keep_k():
    """Cells start at their own probability: refining changes k by interpolation error only."""
    k = np.arange(exact.K_MIN, exact.K_MAX + 1, 7, dtype=np.int64)
    k2, _ = Adapt(1, 8).refine(0, 3, k)
    assert ((k2 >= exact.K_MIN) & (k2 <= exact.K_MAX)).all()
    assert np.abs(k2 - k).max() <= 0.1 * 65536 and np.abs(k2 - k).mean() < 0.01 * 65536


def test_tables_learn_what_follows_a_probability():
    """The network says P1 = 0.2 where ones come 60% of the time: the coder's k moves
    towards 0.6, for that channel and plane only, and trusts the table more once full."""
    rng = np.random.default_rng(1)
    adapt = Adapt(2, 8)
    k = np.full(4000, int(0.2 * 65536), np.int64)
    before, _ = adapt.refine(1, 5, k)
    for _ in range(4):
        _, cells = adapt.refine(1, 5, k)
        adapt.learn(1, 5, cells, (rng.random(4000) < 0.6).astype(np.int64))
    after, _ = adapt.refine(1, 5, k)
    assert before[0] < 0.21 * 65536 and 0.5 * 65536 < after[0] < 0.6 * 65536
    i = cells[0][0]
    assert adapt.count[1 * 8 + 5, i] == COUNT_LIMIT and adapt.count[1 * 8 + 5, i + 1] == COUNT_LIMIT
    untouched, _ = adapt.refine(0, 5, k)
    assert np.array_equal(untouched, before)


def test_copy_is_independent():
    a = Adapt(1, 4)
    b = a.copy()
    k = np.full(100, 30000, np.int64)
    _, cells = b.refine(0, 2, k)
    b.learn(0, 2, cells, np.ones(100, np.int64))
    assert not np.array_equal(a.prob, b.prob) and (a.count == 0).all()


def test_cell_index_is_refines_search():
    from inrcodec.adapt import cell_index
    k = np.arange(exact.K_MIN, exact.K_MAX + 1, dtype=np.int64)
    e = edges()
    i = np.clip(np.searchsorted(e, k, side="right") - 1, 0, BUCKETS - 2)
    assert np.array_equal(cell_index()[k, 0], i)
    assert np.array_equal(cell_index()[k, 1], ((k - e[i]) << 12) // (e[i + 1] - e[i]))
