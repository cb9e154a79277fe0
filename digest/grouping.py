"""Grouping a week's complaints by meaning: average-linkage clustering of their embeddings, stopped at a
fixed average similarity.

Average linkage (UPGMA) merges the two groups whose members are, on average, most alike, and stops when
no two groups are alike enough. With L2-normalised vectors the average similarity between groups A and B
is the dot product of their (unnormalised) mean vectors, so a group is fully described by its mean and its
size: the same criterion decides whether two groups merge and whether a new complaint joins a group.

Exact clustering holds an m×m similarity matrix, fine up to a few thousand complaints (a city's week is a
few hundred). Larger weeks are clustered in rounds: an exact clustering of a random sample, then every
complaint whose average similarity to a sample group passes the threshold joins it (the same test average
linkage applies), and the rest go to the next round; at the end the groups of all rounds are merged by
the same rule, on their means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

# Average centred cosine at which groups stop merging: chosen on tests/digest/grouping_dev.yml, and on a
# plateau of the held-out set (ARI within a few points of its best from 0.25 to 0.35), see docs/digest.md.
THRESHOLD = 0.30
EXACT_LIMIT = 3000
ASSIGN_CHUNK = 8192


@dataclass(frozen=True)
class Clusters:
    labels: Labels  # one group number per input row, 0..k-1, biggest group first
    means: Vectors  # k×d unnormalised mean vectors
    sizes: npt.NDArray[np.float64]  # k summed weights


def centre(vectors: Vectors, mean: npt.NDArray[np.float32] | None = None, copy: bool = True) -> Vectors:
    """Remove the shared direction ("a complaint about transport") and renormalise; zero rows stay zero.
    With `copy=False` the rows are changed in place (a week of a million complaints holds one matrix)."""
    out = np.array(vectors, dtype=np.float32, copy=True) if copy else vectors
    present = np.linalg.norm(out, axis=1) > 0
    if mean is None:
        mean = out[present].mean(axis=0) if present.any() else np.zeros(out.shape[1], np.float32)
    for first in range(0, len(out), ASSIGN_CHUNK):
        chunk = out[first : first + ASSIGN_CHUNK]
        chunk -= mean
        norms = np.linalg.norm(chunk, axis=1, keepdims=True)
        chunk /= np.maximum(norms, 1e-6)
        chunk[(norms[:, 0] <= 1e-6) | ~present[first : first + ASSIGN_CHUNK]] = 0.0
    return out


def average_link(means: Vectors, weights: npt.NDArray[np.float64], threshold: float) -> Labels:
    """Exact weighted UPGMA on dot products; returns a group number per row (not yet ordered)."""
    m = len(means)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    sim = (means @ means.T).astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    w = weights.astype(np.float64).copy()
    active = np.ones(m, dtype=bool)
    parent = np.arange(m)
    best = sim.argmax(axis=1)
    best_val = sim[np.arange(m), best]
    while True:
        i = int(best_val.argmax())
        if best_val[i] < threshold:
            break
        j = int(best[i])
        # merge j into i: the average similarity of the union to every other group
        merged = (w[i] * sim[i] + w[j] * sim[j]) / (w[i] + w[j])
        sim[i] = merged
        sim[:, i] = merged
        sim[i, i] = -np.inf
        sim[j] = -np.inf
        sim[:, j] = -np.inf
        w[i] += w[j]
        active[j] = False
        parent[j] = i
        best_val[j] = -np.inf
        # rows that pointed at i or j look again; the others only compare with the new row i
        stale = np.flatnonzero(active & ((best == i) | (best == j)))
        stale = stale[stale != i]
        if len(stale):
            best[stale] = sim[stale].argmax(axis=1)
            best_val[stale] = sim[stale, best[stale]]
        better = active & (sim[:, i] > best_val)
        best[better] = i
        best_val[better] = sim[better, i]
        best[i] = int(sim[i].argmax())
        best_val[i] = sim[i, best[i]]
    roots = np.array([_root(parent, k) for k in range(m)])
    return np.unique(roots, return_inverse=True)[1].astype(np.int64)


def _root(parent: npt.NDArray[np.int64], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = int(parent[k])
    return k


def _summarise(vectors: Vectors, weights: npt.NDArray[np.float64], labels: Labels) -> Clusters:
    k = int(labels.max()) + 1 if len(labels) else 0
    sizes = np.bincount(labels, weights=weights, minlength=k)
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors * weights[:, None])
    means = (sums / np.maximum(sizes, 1e-12)[:, None]).astype(np.float32)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return Clusters(labels=rank[labels], means=means[order], sizes=sizes[order])


def cluster(
    vectors: Vectors,
    threshold: float,
    weights: npt.NDArray[np.float64] | None = None,
    exact_limit: int = EXACT_LIMIT,
    seed: int = 0,
) -> Clusters:
    """Groups of `vectors` (normalised rows) whose average within-group similarity stays ≥ `threshold`."""
    n = len(vectors)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n <= exact_limit:
        return _summarise(vectors, w, average_link(vectors, w, threshold))
    labels = np.full(n, -1, dtype=np.int64)
    means: list[Vectors] = []
    sizes: list[npt.NDArray[np.float64]] = []
    rng = np.random.default_rng(seed)
    left = np.arange(n)
    while len(left) > exact_limit:
        sample = rng.choice(left, size=exact_limit, replace=False)
        found = _summarise(vectors[sample], w[sample], average_link(vectors[sample], w[sample], threshold))
        offset = sum(len(s) for s in sizes)
        labels[sample] = found.labels + offset
        rest = np.setdiff1d(left, sample, assume_unique=True)
        joined = assign(vectors[rest], found.means, threshold)
        labels[rest[joined >= 0]] = joined[joined >= 0] + offset
        means.append(found.means)
        sizes.append(found.sizes)
        left = rest[joined < 0]
    if len(left):
        found = _summarise(vectors[left], w[left], average_link(vectors[left], w[left], threshold))
        labels[left] = found.labels + sum(len(s) for s in sizes)
        means.append(found.means)
    # groups found in different rounds may be one issue: merge their means by the same rule
    rounds = _summarise(vectors, w, labels)
    if len(rounds.sizes) <= exact_limit:
        final = average_link(rounds.means, rounds.sizes, threshold)
    else:
        final = _merge_large(rounds, threshold, exact_limit)
    return _summarise(vectors, w, final[rounds.labels])


def _merge_large(rounds: Clusters, threshold: float, exact_limit: int) -> Labels:
    """Merge across rounds when there are too many groups for one matrix: the biggest groups are merged
    exactly, and every smaller group joins the merged group it is closest to if that passes the threshold."""
    top = np.arange(min(exact_limit, len(rounds.sizes)))  # groups are ordered biggest first
    merged = average_link(rounds.means[top], rounds.sizes[top], threshold)
    labels = np.empty(len(rounds.sizes), dtype=np.int64)
    labels[top] = merged
    rest = np.arange(len(top), len(rounds.sizes))
    top_summary = _summarise(rounds.means[top], rounds.sizes[top], merged)
    joined = assign(rounds.means[rest], top_summary.means, threshold)
    # _summarise renumbered the merged groups; map back to the numbers used in `merged`
    back = np.empty(len(top_summary.sizes), dtype=np.int64)
    back[top_summary.labels] = merged
    next_label = int(merged.max()) + 1
    for k, target in zip(rest, joined, strict=True):
        if target >= 0:
            labels[k] = back[target]
        else:
            labels[k] = next_label
            next_label += 1
    return labels


def assign(vectors: Vectors, means: Vectors, threshold: float) -> Labels:
    """For each row, the group with the highest average similarity if it reaches `threshold`, else -1."""
    out = np.full(len(vectors), -1, dtype=np.int64)
    for first in range(0, len(vectors), ASSIGN_CHUNK):
        sims = vectors[first : first + ASSIGN_CHUNK] @ means.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(best)), best] >= threshold
        out[first : first + ASSIGN_CHUNK] = np.where(ok, best, -1)
    return out
