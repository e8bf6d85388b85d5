"""Independent, slow Python references for the density expansion
(docs/conventions.md, "Atom-centred density" and "Density coefficients").

Nothing here calls mslode: the real spherical harmonics come from scipy's
complex ones, the GTO basis is rebuilt from its definition (analytic overlap,
40-digit mpmath eigendecomposition), neighbours (with all periodic images) are
found by brute force over lattice translations, and the radial integrals are
adaptive scipy quadrature of the Gaussian's Legendre component.
spline_error_bound turns mslode's documented spline accuracy into the largest
difference from these references that it allows, coefficient by coefficient.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import scipy.integrate
import scipy.special


# -- real spherical harmonics ---------------------------------------------
def real_spherical_harmonics(vectors: np.ndarray, max_angular: int) -> np.ndarray:
    """Y_lm(r̂) of docs/conventions.md, "Spherical harmonics" (sphericart convention),
    shape (n, (L+1)²), index l*l+l+m.

    From scipy's complex Y_l^m (with the Condon-Shortley phase):
    m > 0: √2 (-1)^m Re Y_l^m, m < 0: √2 (-1)^m Im Y_l^|m|, m = 0: Y_l^0,
    which makes Y_1^(-1), Y_1^0, Y_1^1 positive multiples of y, z, x.
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    r = np.linalg.norm(vectors, axis=1)
    theta = np.arccos(np.clip(vectors[:, 2] / r, -1.0, 1.0))
    phi = np.arctan2(vectors[:, 1], vectors[:, 0])
    out = np.empty((len(vectors), (max_angular + 1) ** 2))
    for l in range(max_angular + 1):
        for m in range(-l, l + 1):
            y = scipy.special.sph_harm_y(l, abs(m), theta, phi)
            if m > 0:
                value = np.sqrt(2.0) * (-1) ** m * y.real
            elif m < 0:
                value = np.sqrt(2.0) * (-1) ** m * y.imag
            else:
                value = y.real
            out[:, l * l + l + m] = value
    return out


# -- orthonormal GTO radial basis ------------------------------------------
@functools.lru_cache(maxsize=None)
def _orthonormaliser(cutoff: float, max_radial: int) -> np.ndarray:
    """S^(-1/2) for the unit-norm primitives, S from the analytic overlap
    ∫ r^(n+k+2) e^(-a r²) dr = Γ((n+k+3)/2) / (2 a^((n+k+3)/2)), in 40-digit
    arithmetic: in double precision it loses about cond(S) × 1e-16, 5e-10 of
    R̃_n at n_max = 10, more than the spline accuracies the tests check."""
    with mpmath.workdps(40):
        sigma = [mpmath.mpf(cutoff) * max(mpmath.sqrt(n), 1) / max_radial for n in range(max_radial)]
        overlap = mpmath.matrix(max_radial, max_radial)
        for n in range(max_radial):
            for k in range(max_radial):
                h = mpmath.mpf(n + k + 3) / 2
                a = 1 / (2 * sigma[n] ** 2) + 1 / (2 * sigma[k] ** 2)
                overlap[n, k] = mpmath.gamma(h) / (2 * a**h)
        norms = [1 / mpmath.sqrt(overlap[n, n]) for n in range(max_radial)]
        for n in range(max_radial):
            for k in range(max_radial):
                overlap[n, k] *= norms[n] * norms[k]
        values, vectors = mpmath.eigsy(overlap)
        root = vectors * mpmath.diag([1 / mpmath.sqrt(x) for x in values]) * vectors.T
        return np.array(root.tolist(), dtype=np.float64)


class GtoReference:
    """R̃ = S^(-1/2) R (docs/conventions.md, "Radial basis"): unit-norm
    primitives r^n exp(-r²/2σ_n²), σ_n = r_c max(√n,1)/n_max, Löwdin
    orthonormalised with the analytic overlap."""

    def __init__(self, cutoff: float, max_radial: int):
        n = np.arange(max_radial)
        self.sigma = cutoff * np.maximum(np.sqrt(n), 1.0) / max_radial
        # ∫ r^(2n+2) e^(-r²/σ²) dr = Γ(n+3/2) σ^(2n+3) / 2
        self.log_norm = -0.5 * (scipy.special.gammaln(n + 1.5) + (2 * n + 3) * np.log(self.sigma) - np.log(2.0))
        self.orthonormaliser = _orthonormaliser(float(cutoff), int(max_radial))
        self.max_radial = max_radial

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """R̃_n(r), shape (len(r), n_max)."""
        r = np.asarray(r, dtype=np.float64)[..., None]
        n = np.arange(self.max_radial)
        primitives = np.exp(self.log_norm) * r**n * np.exp(-0.5 * r**2 / self.sigma**2)
        return primitives @ self.orthonormaliser.T


# -- cut-off function ------------------------------------------------------
def smooth_cutoff(d, cutoff: float, width: float):
    d = np.asarray(d, dtype=np.float64)
    inside = d <= cutoff - width
    value = 0.5 * (1.0 + np.cos(np.pi * (d - cutoff + width) / max(width, 1e-300)))
    return np.where(d >= cutoff, 0.0, np.where(inside, 1.0, value))


# -- neighbours by brute force ---------------------------------------------
def _periodic_heights(cell, pbc):
    """Spacing between lattice planes along each periodic direction, within
    the lattice of the periodic vectors only (3-D, 2-D or 1-D)."""
    periodic = [k for k in range(3) if pbc[k]]
    heights = {}
    for k in periodic:
        others = [cell[j] for j in periodic if j != k]
        if not others:
            heights[k] = np.linalg.norm(cell[k])
        else:
            # distance of cell[k] from the span of the other periodic vectors
            basis, _ = np.linalg.qr(np.stack(others, axis=1))
            heights[k] = np.linalg.norm(cell[k] - basis @ (basis.T @ cell[k]))
    return heights


def brute_force_neighbours(positions, cell, pbc, center: int, cutoff: float):
    """All (j, r_j + L - r_i) with |.| < cutoff over lattice translations L,
    excluding only (j = i, L = 0). Positions are used as given (not wrapped);
    translations run over n_k = -M..M with M = ceil((cutoff + largest
    interatomic separation) / plane spacing) + 1: generous on purpose."""
    positions = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    spread = np.linalg.norm(positions - positions[center], axis=1).max()
    heights = _periodic_heights(cell, pbc)
    ranges = []
    for k in range(3):
        if pbc[k]:
            M = int(np.ceil((cutoff + spread) / heights[k])) + 1
            ranges.append(np.arange(-M, M + 1))
        else:
            ranges.append(np.zeros(1, dtype=int))
    shifts = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
    translations = shifts @ cell
    vectors = positions[None, :, :] + translations[:, None, :] - positions[center]
    distances = np.linalg.norm(vectors, axis=2)
    keep = distances < cutoff
    zero = np.flatnonzero((shifts == 0).all(axis=1))[0]
    keep[zero, center] = False
    s, j = np.nonzero(keep)
    return j, vectors[s, j]


# -- radial integrals by adaptive quadrature -------------------------------
def _scaled_spherical_in(l: int, x: np.ndarray) -> np.ndarray:
    """exp(-x) i_l(x) without overflow, i_l the modified spherical Bessel function."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = x < 1.0
    out[small] = scipy.special.spherical_in(l, x[small]) * np.exp(-x[small])
    big = ~small
    out[big] = np.sqrt(np.pi / (2.0 * x[big])) * scipy.special.ive(l + 0.5, x[big])
    return out


def radial_integrals(distances, basis: GtoReference, sigma: float, max_angular: int, *, epsabs=1e-14):
    """I_nl(d) = ∫_0^∞ R̃_n(r) r² (2πσ²)^(-3/2) 4π e^(-(r²+d²)/2σ²) i_l(rd/σ²) dr,

    for all distances at once (scipy quad_vec), shape (len(d), L+1, n_max).
    Written with e^(-(r-d)²/2σ²) · [e^(-x) i_l(x)], x = rd/σ², so nothing overflows.
    """
    distances = np.asarray(distances, dtype=np.float64)
    prefactor = (2.0 * np.pi * sigma**2) ** -1.5 * 4.0 * np.pi
    upper = distances.max(initial=0.0) + 14.0 * sigma

    def integrand(r):
        x = r * distances / sigma**2
        envelope = np.exp(-((r - distances) ** 2) / (2.0 * sigma**2))
        bessel = np.stack([_scaled_spherical_in(l, x) for l in range(max_angular + 1)], axis=1)
        radial = basis(np.array([r]))[0]
        return prefactor * r**2 * (envelope[:, None] * bessel)[:, :, None] * radial[None, None, :]

    points = np.unique(np.clip(distances, 1e-3, upper - 1e-3))
    if len(points) > 50:
        points = np.quantile(points, np.linspace(0, 1, 50))
    result, error = scipy.integrate.quad_vec(
        integrand, 0.0, upper, epsabs=epsabs, epsrel=1e-12, norm="max", points=points, limit=20000
    )
    return result


def density_coefficients(frame, *, cutoff, gaussian_width, max_radial, max_angular, cutoff_width,
                         center_atom_weight, species, centers=None):
    """All ⟨a n l m|ρ_i⟩ of one ase.Atoms: (n_centers, n_species, n_max, (L+1)²)."""
    basis = GtoReference(cutoff, max_radial)
    positions = frame.positions
    numbers = frame.numbers
    if centers is None:
        centers = range(len(frame))
    species = list(species)
    per_center = []
    all_distances = []
    for i in centers:
        j, vectors = brute_force_neighbours(positions, frame.cell[:], frame.pbc, i, cutoff)
        per_center.append((i, j, vectors))
        all_distances.append(np.linalg.norm(vectors, axis=1))
    all_distances = np.concatenate(all_distances + [np.zeros(1)])
    integrals = radial_integrals(all_distances, basis, gaussian_width, max_angular)
    lm_l = np.concatenate([[l] * (2 * l + 1) for l in range(max_angular + 1)])
    out = np.zeros((len(per_center), len(species), max_radial, (max_angular + 1) ** 2))
    start = 0
    for c, (i, j, vectors) in enumerate(per_center):
        d = np.linalg.norm(vectors, axis=1)
        radial = integrals[start:start + len(d)]  # (n_neigh, L+1, N)
        start += len(d)
        fc = smooth_cutoff(d, cutoff, cutoff_width)
        ylm = real_spherical_harmonics(vectors, max_angular) if len(d) else np.zeros((0, len(lm_l)))
        for a, z in enumerate(species):
            mask = numbers[j] == z
            # Σ_j f_c Y_lm(r̂) I_nl(d)
            out[c, a] = np.einsum("j,jnk,jk->nk", fc[mask], radial[mask][:, lm_l, :].transpose(0, 2, 1), ylm[mask])
        # centre: d = 0, only l = 0 with Y_00 = 1/√(4π)
        a = species.index(numbers[i]) if numbers[i] in species else None
        if a is not None:
            out[c, a, :, 0] += center_atom_weight * integrals[-1, 0, :] / np.sqrt(4.0 * np.pi)
    return out


@functools.lru_cache(maxsize=None)
def radial_scale(cutoff: float, gaussian_width: float, max_radial: int, max_angular: int) -> np.ndarray:
    """max over d in [0, r_c] of |I_nl(d)|, shape (L+1, n_max): the size each
    tabulated radial integral's error is measured against
    (DensityExpansion.spline_accuracy). From 401 distances: a maximum
    between two of them is missed by at most ~(Δd/σ)²/8 of it (2e-3 for the
    narrowest case in the tests, σ = 0.1 Å at r_c = 5 Å)."""
    d = np.linspace(0.0, cutoff, 401)
    return np.abs(radial_integrals(d, GtoReference(cutoff, max_radial), gaussian_width, max_angular)).max(axis=0)


def spline_error_bound(frame, *, cutoff, gaussian_width, max_radial, max_angular, cutoff_width,
                       center_atom_weight, species, accuracy, centers=None, reference_error=1e-14):
    """How far mslode's ⟨a n l m|ρ_i⟩ may be from density_coefficients' (same
    shape) given mslode's documented spline accuracy: every tabulated I_nl(d)
    is within `accuracy` max_[0, r_c] |I_nl| of the exact one, and a
    coefficient sums f_c(d_j) Y_lm(r̂_j) I_nl(d_j) over the images j of its
    species (plus the centre's w Y_00 I_n0(0)), so its error is at most
    accuracy max|I_nl| (Σ_j f_c(d_j) |Y_lm(r̂_j)| + |w| Y_00 δ_l0). Plus the
    reference's own error: `reference_error` (quad_vec's epsabs) per radial
    integral, times the largest |Y_lm|, √((2l+1)/4π) (this also covers
    rounding of Y_lm, e.g. a 1e-17 where symmetry makes it zero)."""
    scale = radial_scale(float(cutoff), float(gaussian_width), int(max_radial), int(max_angular))
    lm_l = np.concatenate([[l] * (2 * l + 1) for l in range(max_angular + 1)])
    largest_y = np.sqrt((2 * lm_l + 1) / (4.0 * np.pi))
    numbers = frame.numbers
    species = list(species)
    if centers is None:
        centers = range(len(frame))
    out = np.zeros((len(centers), len(species), max_radial, (max_angular + 1) ** 2))
    for c, i in enumerate(centers):
        j, vectors = brute_force_neighbours(frame.positions, frame.cell[:], frame.pbc, i, cutoff)
        fc = smooth_cutoff(np.linalg.norm(vectors, axis=1), cutoff, cutoff_width)
        ylm = np.abs(real_spherical_harmonics(vectors, max_angular)) if len(j) else np.zeros((0, len(lm_l)))
        for a, z in enumerate(species):
            mask = numbers[j] == z
            weight = fc[mask] @ ylm[mask]  # Σ_j f_c |Y_lm|, per lm
            count = fc[mask].sum()
            if numbers[i] == z:
                weight[0] += abs(center_atom_weight) / np.sqrt(4.0 * np.pi)
                count += abs(center_atom_weight)
            out[c, a] = accuracy * scale[lm_l].T * weight[None, :] + reference_error * count * largest_y[None, :]
    return out


def power_spectrum_full(values: np.ndarray) -> np.ndarray:
    """Full (unsymmetrised) invariants (2l+1)^(-1/2) Σ_m c_{a1n1lm} c_{a2n2lm},
    shape (n_centers, S, N, S, N, L+1)."""
    n_lm = values.shape[-1]
    L = int(round(np.sqrt(n_lm))) - 1
    out = []
    for l in range(L + 1):
        block = values[..., l * l:(l + 1) * (l + 1)]
        out.append(np.einsum("ianm,ibkm->ianbk", block, block) / np.sqrt(2 * l + 1))
    return np.stack(out, axis=-1)
