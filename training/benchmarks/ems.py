"""Earth Mover Similarity (EMS), as HELM's Image2Struct defines it (``AnnotatedImageMetrics.ems`` and
``emd_utils.compute_emd_recursive`` of github.com/stanford-crfm/helm).

``EMS = 1 - blockEMD(answer, target) / blockEMD(constant, target)``, the constant picture white where
the target's most frequent colour is dark (grey < 127), else black. Block EMD: both pictures (same
size) are shrunk to at most 100 patches of 8 x 8 (aspect kept, sides multiples of 8), padded with the
target's most frequent colour, turned grey (0.299 R + 0.587 G + 0.114 B, in [0, 1]); a patch weighs
1, or 0.001 when it is all the target's most frequent grey; where that colour covers more than half the
target, patches that are all that grey in *both* pictures are dropped, and both sides weigh each patch
position by the larger of its two weights (normalised). The cost of moving patch i onto patch j is
the EMD between their pixels (each pixel a point (grey, x, y) in L1, weighing 1 or 0.001 as above,
normalised within the patch) plus the L1 distance of the patch positions times
``sqrt(64) / (width + height)``; the block EMD is the optimal transport of the patch weights under
those costs.

Both transports are solved exactly: by OpenCV's ``cv2.EMD`` (what HELM calls) where OpenCV is
installed, else as the same linear programme by ``scipy.optimize.linprog`` (HiGHS; exact, far slower).
Patches with the same pixels share one inner transport, two patches with no pixel at 0.001 (equal
weights) are an assignment problem, solved by ``linear_sum_assignment``, without OpenCV a patch of one grey
against any other splits into a closed-form grey term and a min-cost flow on the 8 x 8 grid (224 arcs instead
of 4,096 pairings), and two equal pictures are 0 apart without solving anything. ``shortcuts=False`` turns
all of these off (every patch pair its own ``transport``, as HELM's recursion calls ``cv2.EMD`` at every patch
pair): the same values, at the cost of running it the official way (``benchmarks/eval_benchmarks.py``).
"""
from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np

PATCH = (8, 8)
MAX_PATCHES = 100
THRESHOLD = 0.5
BACKGROUND_WEIGHT = 0.001
GREY = np.array([[0.299], [0.587], [0.114]])


def _grey(values: np.ndarray) -> np.ndarray:
    return np.matmul(values, GREY)


def most_frequent_colour(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    colours, counts = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0, return_counts=True)
    best = int(np.argmax(counts))
    return colours[best], counts[best] / (pixels.shape[0] * pixels.shape[1])


def signature(pixels: np.ndarray, background: np.ndarray) -> np.ndarray:
    """One row a patch: weight, its 64 grey values (row-major), its position (row, col) / grid size."""
    picture = np.array(pixels, dtype=np.float32)
    pad_h, pad_w = (-picture.shape[0]) % PATCH[0], (-picture.shape[1]) % PATCH[1]
    if pad_h or pad_w:
        picture = np.pad(picture, ((0, pad_h), (0, pad_w), (0, 0)), "constant",
                         constant_values=tuple((c, c) for c in background[:3]))
    picture /= 255.0
    grey = _grey(picture)
    rows, cols = grey.shape[0] // PATCH[0], grey.shape[1] // PATCH[1]
    patches = grey.reshape(rows, PATCH[0], cols, PATCH[1], 1).transpose(0, 2, 1, 3, 4).reshape(-1, PATCH[0] * PATCH[1])
    positions = np.mgrid[0:rows, 0:cols].transpose(1, 2, 0).reshape(-1, 2) / np.array([rows, cols])
    background_grey = float(_grey(background).squeeze() / 255.0)
    weight = BACKGROUND_WEIGHT + (1 - BACKGROUND_WEIGHT) * np.any(patches != background_grey, axis=1, keepdims=True).astype(np.float32)
    weight /= np.sum(weight)
    return np.hstack((weight, patches, positions)).astype(np.float32)


def pixel_points(values: np.ndarray, background_grey: float) -> np.ndarray:
    """A patch's pixels as (weight, grey, x, y) rows, weights normalised within the patch."""
    xs, ys = np.meshgrid(np.arange(PATCH[0]) / PATCH[0], np.arange(PATCH[1]) / PATCH[1])
    weights = BACKGROUND_WEIGHT + (1 - BACKGROUND_WEIGHT) * (values != background_grey).astype(np.float32)
    weights = weights / np.sum(weights)
    return np.column_stack((weights, values, xs.ravel(), ys.ravel())).astype(np.float32)


@lru_cache(maxsize=1)
def _opencv():
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def transport(supply: np.ndarray, demand: np.ndarray, cost: np.ndarray) -> float:
    """Optimal transport cost of ``supply`` onto ``demand`` (equal totals) under ``cost``, divided by the
    flow, as ``cv2.EMD`` returns it."""
    cv2 = _opencv()
    if cv2 is not None:
        a = np.column_stack((supply, np.zeros_like(supply))).astype(np.float32)
        b = np.column_stack((demand, np.zeros_like(demand))).astype(np.float32)
        return float(cv2.EMD(a, b, cv2.DIST_USER, cost.astype(np.float32))[0])
    from scipy.optimize import linprog
    from scipy.sparse import eye, kron, vstack

    n, m = cost.shape
    a, b = supply.astype(np.float64), demand.astype(np.float64)
    b = b * (a.sum() / b.sum())  # both sides total 1 up to float32 rounding: the same flow leaves and arrives
    margins = vstack([kron(eye(n), np.ones((1, m))), kron(np.ones((1, n)), eye(m))]).tocsr()
    solved = linprog(cost.astype(np.float64).ravel(), A_eq=margins, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    if solved.status != 0:
        raise ArithmeticError(f"transport not solved: {solved.message}")
    return float(solved.fun) / float(a.sum())


@lru_cache(maxsize=1)
def _grid_incidence():
    """Node-arc incidence of the 8 x 8 pixel grid, both directions of every 4-neighbour step."""
    from scipy.sparse import lil_matrix

    steps = [(k, k + 1) for k in range(64) if k % PATCH[0] < PATCH[0] - 1] + [(k, k + PATCH[0]) for k in range(64 - PATCH[0])]
    arcs = steps + [(v, u) for u, v in steps]
    incidence = lil_matrix((64, len(arcs)))
    for e, (u, v) in enumerate(arcs):
        incidence[u, e], incidence[v, e] = 1.0, -1.0
    return incidence.tocsr()


def grid_transport(supply: np.ndarray, demand: np.ndarray) -> float:
    """Transport between two masses on the same 8 x 8 pixel grid under the L1 distance of positions: the L1
    distance is the shortest path of 1/8 steps, so this is a min-cost flow over the grid's 224 arcs."""
    from scipy.optimize import linprog

    a, b = supply.astype(np.float64), demand.astype(np.float64)
    b = b * (a.sum() / b.sum())
    incidence = _grid_incidence()
    solved = linprog(np.full(incidence.shape[1], 1.0 / PATCH[0]), A_eq=incidence, b_eq=a - b, bounds=(0, None), method="highs")
    if solved.status != 0:
        raise ArithmeticError(f"transport not solved: {solved.message}")
    return float(solved.fun) / float(a.sum())


def patch_emd(first: np.ndarray, second: np.ndarray, shortcuts: bool = True) -> float:
    """EMD between two patches' pixel points (L1 over grey, x, y). Where one patch is one grey ``c``, every
    plan pays ``sum_j b_j |c - v_j|`` for the grey whatever it moves, and the rest is a flow on the grid."""
    for constant, other in ((first, second), (second, first)) if shortcuts and _opencv() is None else ():  # cv2.EMD is faster still
        if np.all(constant[:, 1] == constant[0, 1]):
            mass = other[:, 0].astype(np.float64) / float(np.sum(other[:, 0], dtype=np.float64))
            grey = float(np.sum(mass * np.abs(other[:, 1].astype(np.float64) - float(constant[0, 1]))))
            return grey + grid_transport(first[:, 0], second[:, 0])
    cost = np.abs(first[:, None, 1:] - second[None, :, 1:]).sum(axis=2)
    if shortcuts and np.all(first[:, 0] == first[0, 0]) and np.all(second[:, 0] == second[0, 0]):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].sum()) / len(rows)
    return transport(first[:, 0], second[:, 0], cost)


def block_emd(answer, target, shortcuts: bool = True) -> float:
    """The block EMD of two same-size PIL pictures (the target decides the background colour)."""
    if answer.size != target.size:
        raise ValueError("pictures of different sizes")
    answer, target = answer.convert("RGB"), target.convert("RGB")
    patches = math.ceil(answer.size[0] / PATCH[0]) * math.ceil(answer.size[1] / PATCH[1])
    if patches > MAX_PATCHES:
        divider = (patches / MAX_PATCHES) ** 0.5
        width = math.ceil((answer.size[0] / PATCH[1]) / divider) * PATCH[1]
        height = math.floor(MAX_PATCHES / (width / PATCH[0])) * PATCH[0]
        answer, target = answer.resize((width, height)), target.resize((width, height))
    first, second = np.array(answer), np.array(target)
    if shortcuts and np.array_equal(first, second):
        return 0.0  # every patch stays where it is at no cost, and no cost is negative
    background, share = most_frequent_colour(second)
    background_grey = float(_grey(background).squeeze() / 255.0)
    sig1, sig2 = signature(first, background), signature(second, background)
    if share > THRESHOLD:
        keep = np.any(sig1[:, 1:-2] != background_grey, axis=1) | np.any(sig2[:, 1:-2] != background_grey, axis=1)
        sig1, sig2 = sig1[keep], sig2[keep]
    weights = np.maximum(sig1[:, 0], sig2[:, 0])
    weights /= np.sum(weights)

    @lru_cache(maxsize=None)
    def points(values: bytes) -> np.ndarray:
        return pixel_points(np.frombuffer(values, dtype=np.float32), background_grey)

    def solve(a: bytes, b: bytes) -> float:
        return 0.0 if shortcuts and a == b else patch_emd(points(a), points(b), shortcuts)

    inner = lru_cache(maxsize=None)(solve) if shortcuts else solve  # officially every pair is solved anew

    keys1 = [row.tobytes() for row in sig1[:, 1:-2]]
    keys2 = [row.tobytes() for row in sig2[:, 1:-2]]
    multiplier = (PATCH[0] * PATCH[1]) ** 0.5 / (answer.size[0] + answer.size[1])
    cost = np.array([[inner(a, b) for b in keys2] for a in keys1], dtype=np.float64).reshape(len(keys1), len(keys2))
    cost += np.abs(sig1[:, None, -2:] - sig2[None, :, -2:]).sum(axis=2) * multiplier
    return transport(weights.astype(np.float32), weights.astype(np.float32), cost.astype(np.float32))


def ems(answer_png: bytes, target_png: bytes, shortcuts: bool = True) -> float:
    """EMS of an answer's picture against the target's; the answer is first resized to the target's size
    (HELM's default size handling)."""
    from PIL import Image

    target = Image.open(io.BytesIO(target_png)).convert("RGB")
    answer = Image.open(io.BytesIO(answer_png)).convert("RGB")
    if answer.size != target.size:
        answer = answer.resize(target.size)
    background, _ = most_frequent_colour(np.array(target))
    constant = Image.new("RGB", target.size, (255, 255, 255) if _grey(background)[0] < 127 else (0, 0, 0))
    return 1.0 - block_emd(answer, target, shortcuts) / block_emd(constant, target, shortcuts)
