"""Kernel ridge on Nystroem landmarks, the arithmetic: kernel rows to the landmarks, the
normal equations summed a batch of rows at a time, the landmark kernel's square root and the
ridge solve. numpy and scipy only; :class:`skconv.NystroemRidgeClassifier` is the estimator
over it, and its Notes say why each step is computed the way it is."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg
from scipy.linalg import blas, lapack

# A Cholesky pivot of the landmark kernel below this means numerically repeated landmarks:
# the eigendecomposition, on the eigenvalues above 1e-12, is used instead.
CHOLESKY_PIVOT_FLOOR = 1e-10


class KernelMap(NamedTuple):
    """What computes kernel rows to the landmarks: small, so that it travels to workers."""

    offset: np.ndarray  # the landmarks' mean: distances are taken between centred rows
    scaled_landmarks: np.ndarray  # 2 gamma (c - offset)^T, (n_features, n_components)
    landmark_bias: np.ndarray  # -gamma |c - offset|^2, (n_components,)
    gamma: float

    @classmethod
    def of(cls, landmarks, gamma: float) -> KernelMap:
        wide = landmarks.astype(np.float64)
        offset = wide.mean(axis=0)
        centred = wide - offset
        dtype = landmarks.dtype
        return cls(
            offset.astype(dtype),
            np.ascontiguousarray((2 * gamma) * centred.T, dtype=dtype),
            (-gamma * np.einsum("ij,ij->i", centred, centred)).astype(dtype),
            gamma,
        )

    def rows(self, X_batch):
        """``exp(-gamma ||x - c||^2)`` for each row ``x`` and landmark ``c``, in the landmarks'
        dtype: ``2 gamma x.c - gamma |c|^2 - gamma |x|^2`` on centred rows, clipped at 0."""
        centred = X_batch.astype(self.offset.dtype, copy=False) - self.offset
        kernel = centred @ self.scaled_landmarks
        kernel += self.landmark_bias
        kernel -= (self.gamma * np.einsum("ij,ij->i", centred, centred))[:, None]
        np.minimum(kernel, 0, out=kernel)
        return np.exp(kernel, out=kernel)


def normal_equations(X, Y, kernel_map: KernelMap, shift, batches, progress=None):
    """The sums ridge needs from the rows of ``X``, a batch of kernel rows at a time.

    Returns the lower triangle of ``sum (k - shift)(k - shift)^T`` (float64, Fortran order),
    ``sum (k - shift) [y, 1]^T`` (float64: the targets' columns, then the rows' sum),
    ``sum y`` and the row count. Kernel rows are computed in the landmarks' dtype and summed
    in float64 (see the class Notes for why float32 sums are not enough).
    """
    n_components, n_targets = len(shift), Y.shape[1]
    gram = np.zeros((n_components, n_components), order="F")
    cross_total = np.zeros((n_components, n_targets + 1))
    y_sum = np.zeros(n_targets)
    n_rows = 0
    largest = max((batch.stop - batch.start for batch in batches), default=0)
    wide = None if kernel_map.offset.dtype == np.float64 else np.empty((largest, n_components))
    for number, batch in enumerate(batches, 1):
        kernel = kernel_map.rows(X[batch])
        if wide is None:
            kernel -= shift
        else:  # cast to float64 and shift in one pass
            kernel = np.subtract(kernel, shift, out=wide[: len(kernel)])
        targets = np.ones((len(kernel), n_targets + 1))
        targets[:, :n_targets] = Y[batch]
        cross_total += kernel.T @ targets
        y_sum += targets[:, :n_targets].sum(axis=0)
        gram = blas.dsyrk(1.0, kernel.T, beta=1.0, c=gram, lower=1, overwrite_c=1)
        n_rows += len(kernel)
        del kernel
        if progress is not None:
            progress.batch_done(number, n_rows)
    return gram, cross_total, y_sum, n_rows


def add_equations(first, second):
    gram, cross_total, y_sum, n_rows = first
    gram += second[0]
    cross_total += second[1]
    return gram, cross_total, y_sum + second[2], n_rows + second[3]


def labels(scores, classes):
    """The class of each row's scores: positive means ``classes[1]`` for one column."""
    if scores.ndim == 1:
        return classes[(scores > 0).astype(int)]
    return classes[scores.argmax(axis=1)]


def cholesky(kernel):
    """The lower Cholesky factor of the landmark kernel, computed in place (Fortran order),
    or None when the factorisation fails or a pivot is below ``CHOLESKY_PIVOT_FLOOR``."""
    factor, info = lapack.dpotrf(kernel.T, lower=1, clean=1, overwrite_a=1)  # kernel.T is kernel
    if info != 0 or np.diagonal(factor).min() ** 2 < CHOLESKY_PIVOT_FLOOR:
        return None
    return factor


def ridge_solve(system, rhs, alpha):
    """``(system + alpha I)^-1 rhs`` by Cholesky, from the lower triangle of ``system``."""
    system.flat[:: len(system) + 1] += alpha
    factor, info = lapack.dpotrf(system, lower=1, overwrite_a=1)
    if info != 0:
        raise ValueError(singular_message(alpha))
    return lapack.dpotrs(factor, rhs, lower=1)[0]


def scores(X, kernel_map: KernelMap, landmark_coef, intercept, batch_size: int):
    """Decision values of the rows of ``X``, ``batch_size`` rows at a time, in the
    coefficients' dtype."""
    scores = np.empty((len(X), landmark_coef.shape[1]), dtype=landmark_coef.dtype)
    for start in range(0, len(X), batch_size):
        batch = slice(start, start + batch_size)
        scores[batch] = kernel_map.rows(X[batch]) @ landmark_coef + intercept
    return scores.ravel() if scores.shape[1] == 1 else scores


def mean_squared_distance(rows) -> float:
    """Mean of ``||x - y|| ** 2`` over the pairs of distinct rows, in float64: twice the
    features' summed variance, corrected for the pairs of a row with itself."""
    rows = np.asarray(rows, dtype=np.float64)
    n_rows = len(rows)
    with np.errstate(over="ignore", invalid="ignore"):
        distance = 2 * n_rows / max(n_rows - 1, 1) * rows.var(axis=0).sum()
    if not np.isfinite(distance):
        raise ValueError(
            "gamma='scale' cannot be computed: the squared distances between rows of X "
            "overflow float64; scale X down, or pass gamma as a number."
        )
    if distance == 0:
        raise ValueError(
            "gamma='scale' needs rows that differ, but the rows sampled for it are all "
            "identical; pass gamma as a number."
        )
    return distance


def singular_message(alpha) -> str:
    fix = "a larger alpha" if alpha > 0 else "a positive alpha, e.g. alpha=1e-6, or larger"
    return (
        f"The ridge system is singular at alpha={alpha!r}: the kernel map has repeated or "
        f"linearly dependent columns (e.g. repeated rows among the landmarks). Use {fix}."
    )


def inverse_sqrt_psd(kernel):
    """The symmetric inverse square root of a PSD matrix on its eigenvalues above 1e-12
    (``U S^-1/2 U^T``); the directions of smaller eigenvalues are dropped (0), not clipped."""
    # Divide and conquer ("evd"), as the SVD of sklearn's Nystroem (gesdd): on the recipe's
    # 6,000 Fashion-MNIST landmarks it took 16 s where the default ("evr") took 129 s, the
    # kernel's many tiny, clustered eigenvalues being the slow case of the default.
    eigenvalues, eigenvectors = linalg.eigh(kernel, overwrite_a=True, driver="evd")
    kept = eigenvalues > 1e-12
    scaled = eigenvectors[:, kept] / np.sqrt(eigenvalues[kept])
    # Dropping rather than clipping (sklearn's Nystroem clips at 1e-12) keeps float rounding
    # in those directions from being multiplied by 1e6: repeated landmarks add nothing.
    return scaled @ eigenvectors[:, kept].T
