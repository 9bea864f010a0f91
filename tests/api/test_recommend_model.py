"""The recommendation models (pure NumPy/SciPy)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from api.services import recommend_model as rm


def test_co_purchase_neighbours_are_cosine_scores_best_first_never_the_item_itself() -> None:
    # orders: {0,1}, {0,1}, {0,2}; n0=3, n1=2, n2=1
    group = np.array([1, 1, 2, 2, 3, 3])
    item = np.array([0, 1, 0, 1, 0, 2])
    idx, score = rm.neighbours(group, item, n_items=4, k=3)
    assert idx[0].tolist() == [1, 2, -1]
    assert np.allclose(score[0, :2], [2 / np.sqrt(6), 1 / np.sqrt(3)])
    assert idx[3].tolist() == [-1, -1, -1]
    assert 0 not in idx[1, 1:].tolist() or idx[1, 0] == 0


def test_als_ranks_a_users_own_cluster_first() -> None:
    # two taste clusters: users 0-9 buy items 0-4, users 10-19 buy items 5-9 (one item held out)
    rng = np.random.default_rng(3)
    rows, cols = [], []
    for u in range(20):
        base = 0 if u < 10 else 5
        for i in range(base, base + 5):
            if i != base + u % 5:
                rows.append(u)
                cols.append(i)
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(20, 10))
    x, y = rm.implicit_als(counts, 4, rng, iterations=10)
    for u in range(20):
        held = (0 if u < 10 else 5) + u % 5
        scores = y @ x[u]
        scores[counts[u].indices] = -np.inf
        assert int(np.argmax(scores)) == held, u


def test_a_model_round_trips_through_its_blob_and_leaves_out_what_was_bought() -> None:
    items = np.array([11, 12, 13])
    orders = rm.Interactions(
        group=np.array([1, 1, 2]),
        user=np.array([0, 0, 1]),
        item=np.array([0, 1, 2]),
        qty=np.array([1.0, 2.0, 1.0]),
    )
    views = rm.Interactions(
        group=np.array([5, 5]), user=np.array([1, 1]), item=np.array([0, 2]), qty=np.ones(2)
    )
    m = rm.train(items, ["a", "b"], orders, views, np.random.default_rng(0), factors=2)
    back = rm.Model.from_bytes(m.to_bytes())
    assert back.users.tolist() == ["a", "b"] and back.items.tolist() == [11, 12, 13]
    assert np.array_equal(back.buy_idx, m.buy_idx)
    score, source = rm.scores_for(back, user=0, item=None)
    assert np.isneginf(score[[0, 1]]).all()  # a bought both
    score, source = rm.scores_for(back, user=None, item=0)
    assert source[1] == 1 and source[2] == 2  # co-purchase, also viewed
    assert rm.top_k(score, 5).tolist() == [1, 2]


def test_recall_at_k_counts_hits_over_what_could_be_hit() -> None:
    recs = [np.array([1, 2, 3]), np.array([4, 5, 6]), np.array([7])]
    assert rm.recall_at_k(recs, [{1, 9}, {9}, set()], k=2) == (1 / 2 + 0) / 2
