"""What the latent components mean: correlations with the dataset's annotations, attribute
directions, and a pixel-space judge of what a direction changes.

The annotations are the columns of ``data/index.csv`` after ``image_id``, ``split`` and
``partition``: CelebA's binary attributes ("1" / "-1") and, on the synthetic set, its
continuous generating factors. Correlations are Pearson r of every latent component (and
every principal axis) with every annotation, streamed over row chunks. The direction of a
binary attribute is the difference of the class means, mean(z | with) - mean(z | without);
added to a real vector it should add the attribute. Whether it does is decided in image
space by a judge that never saw the direction: one logistic regression per attribute on the
pixels of decoded real vectors, asked how the attribute probabilities of decoded
``z + s * d`` move with the strength ``s``.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from latentspace.io import InputError
from latentspace.params import ParamsWarning, invalid

NOT_ANNOTATIONS = ("image_id", "split", "partition")


@dataclass(frozen=True)
class Annotations:
    """The annotations of the training vectors, row i = row i of ``data/z.npy``.

    Attributes
    ----------
    names : tuple of str
        Annotation columns in ``data/index.csv`` order.
    values : ndarray of shape (n_vectors, n_attributes), float64
        Binary attributes as 1 (present) / 0 (absent), continuous factors as they are.
    binary : ndarray of shape (n_attributes,), bool
        Columns whose values are all -1 or 1 in the file.
    """

    names: tuple[str, ...]
    values: np.ndarray
    binary: np.ndarray

    @property
    def binary_names(self) -> list[str]:
        return [n for n, b in zip(self.names, self.binary) if b]

    def labels(self, names: Sequence[str]) -> np.ndarray:
        """Presence of the binary attributes ``names``: bool ndarray of shape (n_vectors, len(names))."""
        columns = [self.names.index(n) for n in names]
        assert self.binary[columns].all(), "labels() is for binary attributes"
        return self.values[:, columns] > 0.5


def read_annotations(index_csv: str | Path, n_vectors: int) -> Annotations:
    """The annotation columns of the ``train`` rows of ``index_csv``, in file order.

    Parameters
    ----------
    index_csv : path
        ``data/index.csv`` with columns ``image_id, split[, partition], <annotations...>``.
    n_vectors : int
        Rows of ``data/z.npy``; the file must have exactly this many ``train`` rows.

    Raises
    ------
    InputError
        The number of training rows differs from ``n_vectors``, or a value is not a number.
    """
    with open(index_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or "split" not in header:
            raise InputError(f"{index_csv}: expected a header with a 'split' column, got {header}")
        split = header.index("split")
        keep = [k for k, name in enumerate(header) if name not in NOT_ANNOTATIONS]
        # Only the annotation fields of training rows are kept, as text for one fast parse below.
        lines = []
        for row in reader:
            if len(row) != len(header):
                raise InputError(f"{index_csv}: line {reader.line_num} has {len(row)} fields, the header "
                                 f"{len(header)}")
            if row[split] == "train":
                lines.append(",".join(row[k] for k in keep))
    if len(lines) != n_vectors:
        raise InputError(f"{index_csv}: has {len(lines)} 'train' rows but the latent vectors have {n_vectors} rows;"
                         " re-run the encode stage (dvc repro)")
    names = tuple(header[k] for k in keep)
    if not names:
        return Annotations((), np.zeros((n_vectors, 0)), np.zeros(0, dtype=bool))
    try:
        values = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise InputError(f"{index_csv}: annotation values must be numbers ({exc})") from None
    if not np.isfinite(values).all():
        bad = names[int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])]
        raise InputError(f"{index_csv}: column {bad!r} has a non-finite value; annotations must be finite numbers")
    # Binary = only -1 / 1 in the file; a column with one of them only stays binary (a
    # one-sided attribute, reported as such) rather than turning into a continuous factor.
    binary = np.array([np.isin(values[:, k], (-1.0, 1.0)).all() for k in range(len(names))])
    values[:, binary] = values[:, binary] > 0
    return Annotations(names, values, binary)


def _constant(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return std <= 1e-12 * np.maximum(1.0, np.abs(mean))


def cross_correlation(x: np.ndarray, y: np.ndarray, *, chunk_rows: int = 16384,
                      transform: Callable[[np.ndarray], np.ndarray] | None = None,
                      y_names: Sequence[str] | None = None) -> np.ndarray:
    """Pearson r between every column of ``transform(x)`` and every column of ``y``, streamed.

    Memory is O((dx + dy)^2) whatever the number of rows; sums are accumulated in float64
    around the first row to avoid cancellation. Equals the off-diagonal block of
    ``np.corrcoef(x, y, rowvar=False)`` where every column varies.

    Parameters
    ----------
    x : ndarray of shape (n, dx)
        May be a memory map (e.g. the latent vectors).
    y : ndarray of shape (n, dy)
        E.g. the annotations.
    transform : callable or None
        Applied to each chunk of ``x`` (e.g. ``PrincipalAxes.aligned``: r of the principal axes).
    y_names : sequence of str or None
        Names of ``y``'s columns for the warning about constant columns.

    Returns
    -------
    r : ndarray of shape (dx, dy), float64
        Constant columns of either side get r = 0 with a warning instead of NaN.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"cross_correlation: x has {n} rows but y has {len(y)}")
    if n < 2:
        raise ValueError(f"cross_correlation: need at least 2 rows, got {n}")
    transform = transform or (lambda chunk: np.asarray(chunk, dtype=np.float64))
    shift_x = np.asarray(transform(x[:1]), dtype=np.float64)[0]
    shift_y = np.asarray(y[0], dtype=np.float64)
    sx, sy = np.zeros_like(shift_x), np.zeros_like(shift_y)
    sxx, syy = np.zeros_like(shift_x), np.zeros_like(shift_y)
    sxy = np.zeros((len(shift_x), len(shift_y)))
    for start in range(0, n, chunk_rows):
        dx = np.asarray(transform(x[start:start + chunk_rows]), dtype=np.float64) - shift_x
        dy = np.asarray(y[start:start + chunk_rows], dtype=np.float64) - shift_y
        sx += dx.sum(axis=0)
        sy += dy.sum(axis=0)
        sxx += np.einsum("ij,ij->j", dx, dx)
        syy += np.einsum("ij,ij->j", dy, dy)
        sxy += dx.T @ dy
    mx, my = sx / n, sy / n
    std_x = np.sqrt(np.clip(sxx / n - mx**2, 0.0, None))
    std_y = np.sqrt(np.clip(syy / n - my**2, 0.0, None))
    flat_x, flat_y = _constant(std_x, shift_x + mx), _constant(std_y, shift_y + my)
    if flat_y.any():
        which = np.flatnonzero(flat_y)[:10]
        named = [y_names[k] for k in which] if y_names is not None else which.tolist()
        warnings.warn(f"{int(flat_y.sum())} constant annotation column(s) {named}: their correlations are set to 0",
                      RuntimeWarning, stacklevel=2)
    if flat_x.any():
        warnings.warn(f"{int(flat_x.sum())} constant latent column(s) {np.flatnonzero(flat_x)[:10].tolist()}: "
                      "their correlations are set to 0", RuntimeWarning, stacklevel=2)
    cov = sxy / n - np.outer(mx, my)
    r = cov / np.outer(np.where(flat_x, 1.0, std_x), np.where(flat_y, 1.0, std_y))
    r[flat_x, :] = 0.0
    r[:, flat_y] = 0.0
    return np.clip(r, -1.0, 1.0)


def strongest_first(r: np.ndarray) -> np.ndarray:
    """Rows of ``r`` (shape (n_rows, n_attributes)) ordered by their largest |r|, strongest
    first (ties keep row order): ndarray of shape (n_rows,), int64."""
    if r.shape[1] == 0:
        return np.arange(len(r))
    return np.argsort(-np.abs(r).max(axis=1), kind="stable")


def top_two(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the largest and of the second largest |r| in each row of ``r``.

    Returns
    -------
    first, second : ndarray of shape (n_rows,), int64
        ``second`` is -1 where ``r`` has a single column.
    """
    order = np.argsort(-np.abs(r), axis=1, kind="stable")
    second = order[:, 1] if r.shape[1] > 1 else np.full(len(r), -1)
    return order[:, 0], second


def attribute_directions(z: np.ndarray, labels: np.ndarray, *, chunk_rows: int = 16384,
                         names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of the class means, mean(z | with) - mean(z | without), per attribute, streamed.

    Parameters
    ----------
    z : ndarray of shape (n, latent_dim)
        May be a memory map.
    labels : ndarray of shape (n, n_attributes), bool
        Presence of each attribute.
    names : sequence of str or None
        Attribute names for the warning about one-sided attributes.

    Returns
    -------
    directions : ndarray of shape (n_attributes, latent_dim), float64
        NaN rows, with a warning, for attributes that no vector has or every vector has.
    counts_with, counts_without : ndarray of shape (n_attributes,), int64
    """
    n, dim = z.shape
    labels = np.asarray(labels, dtype=bool)
    if labels.shape[0] != n:
        raise ValueError(f"attribute_directions: z has {n} rows but labels have {labels.shape[0]}")
    total = np.zeros(dim)
    with_sum = np.zeros((labels.shape[1], dim))
    for start in range(0, n, chunk_rows):
        chunk = np.asarray(z[start:start + chunk_rows], dtype=np.float64)
        total += chunk.sum(axis=0)
        with_sum += labels[start:start + chunk_rows].T.astype(np.float64) @ chunk
    counts_with = labels.sum(axis=0).astype(np.int64)
    counts_without = n - counts_with
    one_sided = (counts_with == 0) | (counts_without == 0)
    if one_sided.any():
        which = np.flatnonzero(one_sided)
        named = [names[k] for k in which] if names is not None else which.tolist()
        warnings.warn(f"attribute(s) {named} are present in none or all of the {n} vectors: "
                      "their directions are NaN", RuntimeWarning, stacklevel=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_with = with_sum / counts_with[:, None]
        mean_without = (total - with_sum) / counts_without[:, None]
    directions = mean_with - mean_without
    directions[one_sided] = np.nan
    return directions, counts_with, counts_without


def strip_vectors(z_faces: np.ndarray, direction: np.ndarray, strengths: Sequence[float]) -> np.ndarray:
    """``z + s * d`` for every face and strength.

    Parameters
    ----------
    z_faces : ndarray of shape (faces, latent_dim)
    direction : ndarray of shape (latent_dim,)
    strengths : sequence of float, length n_strengths

    Returns
    -------
    vectors : ndarray of shape (faces, n_strengths, latent_dim), float32
    """
    s = np.asarray(strengths, dtype=np.float64)
    return (np.asarray(z_faces, np.float64)[:, None, :] + s[None, :, None] * direction).astype(np.float32)


def decode_strips(decode: Callable[[np.ndarray], np.ndarray], z_faces: np.ndarray, direction: np.ndarray,
                  strengths: Sequence[float]) -> np.ndarray:
    """Decoded :func:`strip_vectors`.

    Parameters
    ----------
    decode : callable
        Latent vectors of shape (m, latent_dim) -> images of shape (m, S, S, 3) in [0, 1].

    Returns
    -------
    strips : ndarray of shape (faces, n_strengths, S, S, 3)
    """
    vectors = strip_vectors(z_faces, direction, strengths)
    faces, n_s, dim = vectors.shape
    images = decode(vectors.reshape(faces * n_s, dim))
    return images.reshape(faces, n_s, *images.shape[1:])


def chosen_binary(names: Sequence[str], key: str, ann: Annotations, index_csv, what: str) -> list[str]:
    """The binary attributes a stage was asked for (``names``, params key ``key``), checked against
    the data: each one of ``index_csv``'s binary attributes, none twice; none, with a warning, where
    the dataset has no binary attribute (a plain folder of faces is a legal dataset: ``what`` it
    then does not do, e.g. "no direction is drawn").

    Raises
    ------
    ValueError
        Naming ``key[i]``, the name, and the allowed names.
    """
    available = ann.binary_names
    if names and not available:
        warnings.warn(f"{key}: {index_csv} has no binary attributes, so {what}", stacklevel=3)
        return []
    for i, name in enumerate(names):
        if name not in available:
            raise invalid(f"{key}[{i}]", name, f"must be one of the binary attributes of {index_csv}: "
                          + ", ".join(available))
        if name in names[:i]:
            raise invalid(f"{key}[{i}]", name, "is listed twice")
    return list(names)


def judge_sizes(n_train: int, n_test: int, n_vectors: int, *, key: str = "attributes.judge") -> tuple[int, int]:
    """The judge's fit and test sizes, shrunk in proportion (with a warning) to fit the vectors.

    A tiny dataset then still gets a judge, as the other stages use at most all vectors.

    ``key`` is the params section of the sizes, named in the warning.

    Returns
    -------
    n_train, n_test : int
        Their sum is at most ``n_vectors``.
    """
    if n_train + n_test <= n_vectors:
        return n_train, n_test
    least = max(1, min(20, n_vectors // 2))  # fitted on the schema's smallest size, or half the vectors: never on 1
    test = max(1, min(round(n_vectors * n_test / (n_train + n_test)), n_vectors - least))
    warnings.warn(f"params.yaml: {key}.n_train + n_test = {n_train + n_test}: more than the {n_vectors} "
                  f"vectors; the judge is fitted on {n_vectors - test} and tested on {test}", ParamsWarning, stacklevel=2)
    return n_vectors - test, test


@dataclass(frozen=True)
class PixelJudge:
    """One logistic regression per binary attribute on the whitened principal components
    of the pixels (a linear classifier of the pixels, regularised where images vary least).

    Attributes
    ----------
    names : tuple of str
    features : fitted sklearn PCA (whiten=True)
        Pixels -> whitened coordinates along the leading principal directions of the images.
    models : tuple of fitted sklearn LogisticRegression or None
        None where the training labels had a single class (no classifier to fit).
    """

    names: tuple[str, ...]
    features: object
    models: tuple

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """P(attribute present) for each image: ndarray of shape (n, n_attributes), NaN where
        the attribute has no classifier.

        Parameters
        ----------
        images : ndarray of shape (n, S, S, 3), floats in [0, 1]
        """
        x = self.features.transform(_pixels(images))  # (n, n_features)
        out = np.full((len(x), len(self.names)), np.nan)
        for k, model in enumerate(self.models):
            if model is not None:
                out[:, k] = model.predict_proba(x)[:, 1]
        return out


def _pixels(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1)  # (n, S*S*3)


def fit_judge(images: np.ndarray, labels: np.ndarray, names: Sequence[str], *, seed: int = 0,
              n_features: int = 256, C: float = 0.1, progress: bool = False) -> PixelJudge:
    """Fit the pixel judge: whitened pixel PCA shared by all attributes, then one logistic
    regression per attribute.

    The judge sees only images and labels, so it says what a direction does in image space
    whatever way the direction was found. Raw pixels are so correlated that a logistic
    regression on them needs hundreds of L-BFGS iterations (seconds per attribute); in the
    whitened frame of the leading ``n_features`` pixel components it converges in about ten,
    with the same held-out accuracy on the synthetic faces, and the L2 penalty (small ``C``)
    keeps it from fitting noise.

    Parameters
    ----------
    images : ndarray of shape (n, S, S, 3), floats in [0, 1]
    labels : ndarray of shape (n, n_attributes), bool
    names : sequence of str, length n_attributes
    seed : int
        Seed of the randomised SVD that finds the pixel components.
    n_features : int
        Pixel components kept (at most n - 1 and S*S*3).
    progress : bool
        Show a tqdm bar over the attributes (on stderr).
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from tqdm import tqdm

    labels = np.asarray(labels, dtype=bool)
    if labels.shape != (len(images), len(names)):
        raise ValueError(f"fit_judge: labels of shape {labels.shape} do not match {len(images)} images and "
                         f"{len(names)} names")
    pixels = _pixels(images)
    k_features = max(1, min(n_features, len(pixels) - 1, pixels.shape[1]))
    features = PCA(k_features, whiten=True, svd_solver="randomized", random_state=seed).fit(pixels)
    x = features.transform(pixels)  # (n, k_features)
    models, single = [], []
    for k in tqdm(range(len(names)), desc="judge", unit="attribute", disable=not progress):
        y = labels[:, k]
        if y.all() or not y.any():
            single.append(names[k])
            models.append(None)
            continue
        models.append(LogisticRegression(C=C, max_iter=1000).fit(x, y))
    if single:
        warnings.warn(f"judge: attribute(s) {single} have a single class among the {len(images)} training "
                      "images; they get no classifier (probabilities NaN)", RuntimeWarning, stacklevel=2)
    return PixelJudge(tuple(names), features, tuple(models))


def judge_scores(judge: PixelJudge, images: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy and balanced accuracy of the judge on held-aside images, per attribute.

    Parameters
    ----------
    images : ndarray of shape (n, S, S, 3)
    labels : ndarray of shape (n, n_attributes), bool

    Returns
    -------
    scores : dict of name -> {"accuracy": float, "balanced_accuracy": float}
        NaN for attributes without a classifier; balanced accuracy averages the recall of
        the classes present in ``labels``.
    """
    predicted = judge.probabilities(images) > 0.5
    labels = np.asarray(labels, dtype=bool)
    scores = {}
    for k, name in enumerate(judge.names):
        if judge.models[k] is None:
            scores[name] = {"accuracy": float("nan"), "balanced_accuracy": float("nan")}
            continue
        right = predicted[:, k] == labels[:, k]
        recalls = [right[labels[:, k] == c].mean() for c in (False, True) if (labels[:, k] == c).any()]
        scores[name] = {"accuracy": float(right.mean()), "balanced_accuracy": float(np.mean(recalls))}
    return scores


def strength_response(judge: PixelJudge, strips: np.ndarray) -> np.ndarray:
    """The judge's mean P(attribute) over the faces of a strip at each strength.

    Parameters
    ----------
    strips : ndarray of shape (faces, n_strengths, S, S, 3)

    Returns
    -------
    response : ndarray of shape (n_strengths, n_attributes)
    """
    faces, n_s = strips.shape[:2]
    p = judge.probabilities(strips.reshape(faces * n_s, *strips.shape[2:]))
    return p.reshape(faces, n_s, -1).mean(axis=0)


def direction_effect(response: np.ndarray, strengths: Sequence[float], names: Sequence[str],
                     own: str) -> dict:
    """How a direction moves its own attribute and the others, from the largest strength to 0.

    Parameters
    ----------
    response : ndarray of shape (n_strengths, n_attributes)
        From :func:`strength_response`.
    strengths : sequence of float
        Must contain 0 (the faces' own reconstructions).
    own : str
        The attribute the direction is named after; one of ``names``.

    Returns
    -------
    effect : dict
        ``own_change``: P(own) at the largest strength minus at 0; ``largest_other``: the
        other attribute whose P changes most in absolute value, ``largest_other_change``: its
        signed change (NaN / None where the judge has no classifier).
    """
    s = np.asarray(strengths, dtype=np.float64)
    zero = np.flatnonzero(s == 0)
    if len(zero) == 0:
        raise ValueError(f"direction_effect: strengths {list(strengths)} must contain 0")
    change = response[int(np.argmax(s))] - response[int(zero[0])]
    k = list(names).index(own)
    others = [j for j in range(len(names)) if j != k and np.isfinite(change[j])]
    j = max(others, key=lambda j: abs(change[j])) if others else None
    return {
        "own_change": float(change[k]),
        "largest_other": names[j] if j is not None else None,
        "largest_other_change": float(change[j]) if j is not None else float("nan"),
    }
