"""The learned banks: k-means (Coates & Ng) and PCA (PCANet) filters from image patches.

Both learners take raw patches ``(n_patches, kh, kw, C)`` and return a :class:`LearnedBank`
``(filters, bias)`` of a full bank. Re-exported by :mod:`skconv.filters`.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from .._validation import check_int, is_positive_finite
from ._handcrafted import random_bank
from ._patches import normalize_patches


class FilterBankFallbackWarning(UserWarning):
    """A learner had too little usable data and returned a documented fallback bank."""


class LearnedBank(NamedTuple):
    """What a learner returns: a full filter bank and the bias added to each response.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, kh, kw, C)
        A full bank (summed over channels), channel axis kept even when ``C == 1``.
    bias : ndarray of shape (n_filters,)
        Added to each filter's response; zero for :func:`learn_pca_bank`.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> filters, bias = learn_pca_bank(rng.uniform(size=(50, 3, 3, 1)), 2)
    >>> filters.shape, bias.shape
    ((2, 3, 3, 1), (2,))
    """

    filters: np.ndarray
    bias: np.ndarray


def _check_patches(patches) -> np.ndarray:
    patches = np.asarray(patches)
    if patches.ndim != 4 or patches.shape[0] == 0:
        raise ValueError(
            f"patches must be a non-empty array of shape (n_patches, kh, kw, C), e.g. from "
            f"sklearn.feature_extraction.image.PatchExtractor, with [..., None] added for grey "
            f"images; got shape {patches.shape}."
        )
    # Checked here, before anything is estimated from them: a NaN patch would otherwise
    # surface as a NaN contrast_eps and be blamed on that parameter.
    if patches.dtype.kind in "fc" and not np.isfinite(patches).all():
        raise ValueError(
            "patches hold NaN or infinite values; drop those patches, e.g. "
            "patches[np.isfinite(patches).all(axis=(1, 2, 3))], or fill the images they come "
            "from first."
        )
    return patches


#: of scikit-image's astronaut, chelsea and coffee images shrunk to 32x32; on digits, ratios
#: from 0.003 to 1 gave 5-fold accuracies within about 1.5% of each other.
CONTRAST_EPS_RATIO = 0.01


def estimate_contrast_eps(patches) -> float:
    """The scale-aware contrast regulariser ``learn_kmeans_bank`` uses for ``"auto"``.

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        The patches the bank is learned from.
        NaN or infinite values, or a variance beyond float64, raise ``ValueError``.

    Returns
    -------
    contrast_eps : float
        ``CONTRAST_EPS_RATIO`` (0.01) times the mean over patches of each patch's variance
        (over its ``kh * kw * C`` values, ``ddof=0``), or 1.0 when every patch is flat and
        the data show no scale. It scales with the square of the intensity unit, so it fits
        digits in 0-16, images in 0-1 and 8-bit images alike.

    Examples
    --------
    >>> patches = np.array([[0.0, 2.0], [0.0, 0.0]]).reshape(2, 1, 2, 1)
    >>> estimate_contrast_eps(patches)  # variances 1 and 0
    0.005
    """
    patches = _check_patches(patches)
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    with np.errstate(over="ignore"):
        mean_variance = float(np.mean(np.var(flat, axis=1)))
    if not math.isfinite(mean_variance):
        raise ValueError(
            "patches vary too much to take their variance in float64 (it overflows); "
            "rescale the images, e.g. to 0-1, before learning a bank from them."
        )
    if mean_variance == 0.0:
        return 1.0
    return CONTRAST_EPS_RATIO * mean_variance


def _zca_matrix(centred: np.ndarray, zca_eps: float) -> np.ndarray:
    """Symmetric ZCA matrix ``U diag(1 / sqrt(lambda + zca_eps)) U^T`` of centred rows."""
    covariance = centred.T @ centred / len(centred)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # Round-off can leave tiny negative eigenvalues on a singular covariance.
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (eigenvectors / np.sqrt(eigenvalues + zca_eps)) @ eigenvectors.T


def learn_kmeans_bank(
    patches,
    n_filters: int,
    *,
    whiten: bool = True,
    contrast_eps: float | str | None = "auto",
    zca_eps: float | str = "auto",
    max_iter: int = 100,
    n_init: int = 3,
    batch_size: int = 1024,
    random_state=None,
) -> LearnedBank:
    """Learn a full filter bank by k-means on normalised patches (Coates & Ng, 2011).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches (see the module's notes on where to get them). Not modified.
        NaN or infinite values raise ``ValueError``.
    n_filters : int
        Number of clusters, hence of filters.
    whiten : bool, default=True
        ZCA-whiten the normalised patches before clustering.
    contrast_eps : float > 0, "auto" or None, default="auto"
        Regulariser of the per-patch contrast normalisation: each patch ``p`` becomes
        ``(p - mean(p)) / sqrt(var(p) + contrast_eps)``. ``"auto"`` uses
        ``estimate_contrast_eps(patches)``, 1% of the
        mean patch variance, so the default follows the intensity scale of the data (Coates
        & Ng's fixed 10 assumes 0-255 pixels, where it is about 0.3-0.9% of that variance).
        ``None`` skips the division and removes each patch's mean only.
    zca_eps : float > 0 or "auto", default="auto"
        Regulariser added to the covariance eigenvalues before whitening. ``"auto"`` uses a
        tenth of their mean (the mean per-value variance of the normalised patches):
        Coates & Ng's 0.1 for patches normalised to about unit variance, scaled along with
        the data otherwise. Ignored when ``whiten=False``.
    max_iter, n_init, batch_size : int, default=100, 3, 1024
        Passed to :class:`sklearn.cluster.MiniBatchKMeans`.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means (and the fallback below) via :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    bank : LearnedBank
        ``filters``, an ndarray of shape (n_filters, kh, kw, C): a full bank (summed over
        channels), channel axis kept even when ``C == 1``, every filter summing to zero; and
        ``bias``, an ndarray of shape (n_filters,), zero when ``whiten=False``.

    Notes
    -----
    Let ``p_n`` be a normalised patch, ``mu`` the mean and ``Z`` the (symmetric) ZCA matrix
    of the normalised patches, and ``c`` a centroid in whitened space. Its score
    ``c . Z (p_n - mu) = (Z c) . p_n - c . Z mu`` is linear in ``p_n``, so the linear steps
    are folded into the outputs: ``filter = Z c`` made zero-sum (``w . (p - mean(p)) = w . p``
    for a zero-sum ``w``, so the folded filter also removes the patch mean) and
    ``bias = -c . Z mu``. Without whitening, ``filter`` is the centroid and ``bias = 0``.

    The division by the patch's contrast is not linear. To reproduce fit-time
    preprocessing exactly, transform must compute, for every window ``p`` of the raw image
    (all ``kh * kw * C`` values under the kernel)::

        response = (filter . p) / sqrt(var(p) + contrast_eps) + bias

    with ``var`` the population variance (``ddof=0``) of the window, the same
    ``contrast_eps`` (resolve ``"auto"`` once with ``estimate_contrast_eps`` on the training
    patches and pass the number), and the bias added *after* the division. With
    ``contrast_eps=None`` the response is ``filter . p + bias``.

    Fallback: if there are fewer distinct normalised patches than ``n_filters`` (e.g. one
    tiny image), or all of them are flat, k-means cannot find ``n_filters`` clusters. A
    :class:`FilterBankFallbackWarning` is then issued and the bank is
    ``random_bank(n_filters, (kh, kw), n_channels=C, random_state=random_state)`` with zero
    bias.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> patches = rng.uniform(size=(500, 3, 3, 1))
    >>> filters, bias = learn_kmeans_bank(patches, 4, random_state=0)
    >>> filters.shape, bias.shape
    ((4, 3, 3, 1), (4,))
    >>> bool(np.allclose(filters.sum(axis=(1, 2, 3)), 0))
    True
    """
    patches = _check_patches(patches)
    n_filters = check_int(n_filters, "n_filters")
    n_patches, kh, kw, n_channels = patches.shape
    if kh * kw * n_channels < 2:
        raise ValueError(
            f"learn_kmeans_bank needs patches with at least 2 values (kh * kw * C >= 2): zero-sum "
            f"filters on a single value are all zero; got patches of shape {patches.shape[1:]}. "
            f"Use larger patches (a kernel_size of 2 or more)."
        )
    if isinstance(contrast_eps, str) and contrast_eps == "auto":
        contrast_eps = estimate_contrast_eps(patches)
    elif contrast_eps is not None and not is_positive_finite(contrast_eps):
        raise ValueError(
            f"contrast_eps must be a positive finite float, 'auto' or None; got {contrast_eps!r}."
        )
    if not (isinstance(zca_eps, str) and zca_eps == "auto") and not is_positive_finite(zca_eps):
        raise ValueError(f"zca_eps must be a positive finite float or 'auto'; got {zca_eps!r}.")
    rng = check_random_state(random_state)

    normalized = normalize_patches(patches, contrast_eps=contrast_eps)
    normalized = normalized.reshape(n_patches, -1).astype(np.float64, copy=False)
    n_distinct = len(np.unique(normalized, axis=0))
    if n_distinct < n_filters or not np.any(normalized):
        warnings.warn(
            f"learn_kmeans_bank found {n_distinct} distinct normalised patch(es) for "
            f"n_filters={n_filters} clusters; returning random filters instead. Give it more "
            f"(or more varied) patches, or lower n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        filters = random_bank(n_filters, (kh, kw), n_channels=n_channels, random_state=rng)
        return LearnedBank(filters, np.zeros(n_filters))

    if whiten:
        mean_patch = normalized.mean(axis=0)
        centred = normalized - mean_patch
        if zca_eps == "auto":
            # The mean eigenvalue of the covariance is the mean per-value variance.
            zca_eps = 0.1 * float(np.mean(centred * centred))
        zca = _zca_matrix(centred, zca_eps)
        features = centred @ zca
    else:
        features = normalized
    kmeans = MiniBatchKMeans(
        n_clusters=n_filters,
        max_iter=max_iter,
        n_init=n_init,
        batch_size=batch_size,
        random_state=rng,
    ).fit(features)
    centroids = kmeans.cluster_centers_
    if whiten:
        # Row form of Z c for each centroid c (Z is symmetric).
        folded = centroids @ zca
        bias = -folded @ mean_patch
    else:
        folded = centroids
        bias = np.zeros(n_filters)
    # Centroids of zero-sum points are zero-sum and Z preserves that subspace, so this only
    # clears round-off: filter . p must equal filter . (p - mean(p)) on raw windows.
    folded = folded - folded.mean(axis=1, keepdims=True)
    return LearnedBank(folded.reshape(n_filters, kh, kw, n_channels), bias)


def learn_pca_bank(patches, n_filters: int) -> LearnedBank:
    """Learn an orthonormal full filter bank by PCA of mean-removed patches (PCANet).

    Parameters
    ----------
    patches : array-like of shape (n_patches, kh, kw, C)
        Raw image patches (see the module's notes on where to get them). Not modified.
        NaN or infinite values raise ``ValueError``.
    n_filters : int
        Number of principal components kept; at most ``kh * kw * C - 1``, the dimension of
        the zero-sum patches.

    Returns
    -------
    bank : LearnedBank
        ``filters``, an ndarray of shape (n_filters, kh, kw, C): a full bank (summed over
        channels), channel axis kept even when ``C == 1``, orthonormal, zero-sum, and ordered
        by decreasing variance of the patches projected on them; and ``bias``, zeros of
        shape (n_filters,) (PCANet adds none).

    Notes
    -----
    The PCANet recipe (Chan et al., 2015): remove each patch's own mean, fit
    :class:`sklearn.decomposition.PCA` (exact ``"full"`` solver, so no randomness) and
    reshape the leading components. Zero-sum filters make the mean removal implicit at
    transform time: cross-correlating the raw image with the filters is enough. (PCA also
    subtracts the mean patch; that only shifts every response by a constant, which PCANet
    ignores.)

    Fallback: if the patches vary in fewer than ``n_filters`` directions (fewer patches
    than filters, or flat patches), the components with non-zero variance come first and
    are completed by a deterministic orthonormal zero-sum basis of the remaining
    directions, with a :class:`FilterBankFallbackWarning`.

    Examples
    --------
    >>> rng = np.random.RandomState(0)
    >>> patches = rng.uniform(size=(200, 3, 3, 1))
    >>> filters, bias = learn_pca_bank(patches, 4)
    >>> flat = filters.reshape(4, -1)
    >>> bool(np.allclose(flat @ flat.T, np.eye(4)))
    True
    """
    patches = _check_patches(patches)
    n_filters = check_int(n_filters, "n_filters")
    n_patches, kh, kw, n_channels = patches.shape
    n_values = kh * kw * n_channels
    if n_filters > n_values - 1:
        raise ValueError(
            f"n_filters={n_filters} exceeds the {n_values - 1} orthonormal zero-sum filters "
            f"that patches of shape {patches.shape[1:]} allow; use n_filters <= {n_values - 1} "
            f"or larger patches."
        )
    centred = normalize_patches(patches, contrast_eps=None).reshape(n_patches, -1)
    centred = centred.astype(np.float64, copy=False)
    if n_patches < 2 or not np.any(centred):
        # No variance to analyse (and PCA would divide by zero).
        components = np.empty((0, n_values))
    else:
        pca = PCA(n_components=min(n_filters, n_patches), svd_solver="full").fit(centred)
        variances = pca.explained_variance_
        # Components past the data's rank carry round-off variance only.
        tolerance = n_values * np.finfo(float).eps * float(variances.max(initial=0.0))
        components = pca.components_[variances > tolerance]
    if len(components) < n_filters:
        warnings.warn(
            f"learn_pca_bank found {len(components)} direction(s) of variance in {n_patches} "
            f"patch(es) for n_filters={n_filters}; completing the bank with a fixed "
            f"orthonormal zero-sum basis. Give it more (or more varied) patches, or lower "
            f"n_filters.",
            FilterBankFallbackWarning,
            stacklevel=2,
        )
        components = _complete_zero_sum_basis(components, n_filters)
    filters = components[:n_filters].reshape(n_filters, kh, kw, n_channels)
    return LearnedBank(filters, np.zeros(n_filters))


def _complete_zero_sum_basis(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """Extend orthonormal zero-sum ``rows`` to ``n_rows`` orthonormal zero-sum rows."""
    n_values = rows.shape[1]
    constant = np.full((1, n_values), 1.0 / np.sqrt(n_values))
    # QR of [known rows, constant, identity]: the first columns of Q span the known rows
    # and the constant, the next ones complete an orthonormal basis of everything else.
    spanning = np.vstack([rows, constant, np.eye(n_values)]).T
    q, _ = np.linalg.qr(spanning)
    extra = q[:, len(rows) + 1 : n_rows + 1].T
    return np.vstack([rows, extra])
