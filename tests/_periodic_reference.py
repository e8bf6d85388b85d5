"""Independent, slow Python reference for the *periodic* potential
coefficients (docs/conventions.md, "Periodic structures", "Potential
coefficients").

Nothing here calls mslode; only numpy, scipy, mpmath and the finite-structure
references of tests/_potential_reference.py (GTO basis, real harmonics, φ_σ,
far-field series) are used. Two routes, sharing nothing but the basis and
the harmonics:

- ``periodic_potential_reference``: the reciprocal-space sum that *defines*
  the periodic coefficients (3-D periodicity, Ω = |det cell|),

      c_i[a, n, lm] = (1/Ω) Σ_k φ̂_σ(k) S_a(k) e^{i k·r_i} T_nlm(k)
                      + (w − 1) δ_{a, a_i} ⟨n l m|φ_σ⟩,

  S_a(k) = Σ_{j ∈ a} e^{−i k·r_j}, T_nlm(k) = ⟨n l m|e^{i k·x}⟩ =
  4π i^l Y_lm(k̂) I_nl(|k|) with the analytic Hankel transform
  I_nl(k) = ∫ R̃_n(r) j_l(kr) r² dr; k = 0 is left out for p ≤ 3 (each species
  channel in its own neutralising background) and kept for p > 3, where the
  lattice sum converges absolutely. φ̂_σ^(p) is the Fourier transform of
  φ_σ^(p) (an upper incomplete gamma function).
- ``image_sum_reference`` (p > 3 only): the real-space lattice sum of the
  single-source coefficients Y_lm(r̂) P_nl(|r|), with P_nl from the Gaussian
  superposition of φ_σ^(p) (checked against ``nested_radial`` in the tests)
  and the far images replaced by their uniform continuum (through a smooth
  window, not a sharp sphere: see its Notes).

Everything is float64 and brute force; speed is not a goal (the k-sum
evaluates I_nl once per distinct |k|, so cubic cells are much cheaper than
triclinic ones).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import mpmath
import numpy as np
import scipy.special as sp

from _potential_reference import (
    GtoReference,
    composite_gauss_legendre,
    real_spherical_harmonics,
    smeared_power_law,
    tail_coefficients,
)

#: k_cutoff = sqrt(2 K_CUTOFF_EXPONENT)/σ: for every p, φ̂_σ(k) k² → C exp(−k²σ²/2)
#: at large k, so the terms left out are below exp(−40) ≈ 4e−18 of the k → 0
#: ones (and I_nl(k) only makes them smaller).
K_CUTOFF_EXPONENT = 40.0

# Real-space image sum: Gaussian-smoothed window, w(s) = erfc((s − R)/√2 b)/2,
# b = R/WINDOW_RATIO; images beyond R + WINDOW_EXTENT·b (w < 1e−9) are not
# summed at all (their share is in the continuum tail).
WINDOW_RATIO = 8.0
WINDOW_EXTENT = 6.0


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, through numpy's plain einsum loop when the result is thin (fewer
    than 64 rows or columns). Multithreaded BLAS spins its threads on such
    products: on a busy 2-core machine a (6 × 32000)·(32000 × 48) product took
    0.7 s with BLAS and 8 ms without, and the reference ran ten times slower."""
    if min(a.shape[0], b.shape[1]) < 64:
        # blocks of 256 along the summed axis: plain sequential accumulation over
        # a whole k chunk (~3e4 terms) cost ~3e−13 relative in the Madelung test
        block = 256
        out = np.zeros((a.shape[0], b.shape[1]))
        for start in range(0, a.shape[1], block):
            out += np.einsum("ij,jk->ik", a[:, start:start + block], b[start:start + block])
        return out
    return a @ b


# -- the smeared power law in reciprocal space ---------------------------------
def upper_incomplete_gamma(s: float, z) -> np.ndarray:
    """Γ(s, z) = ∫_z^∞ t^(s−1) e^(−t) dt (not regularised) for z > 0 and any real s.

    Closed forms for the orders the integer exponents p = 1 … 6 need,
    s = (3 − p)/2 ∈ {1, 1/2, 0, −1/2, −1, −3/2}:

    - integer s = 1 − m: Γ(1 − m, z) = z^(1−m) E_m(z) (scipy's ``expn``,
      accurate for all z; m = 0 is e^(−z)/z);
    - half-integer s: Γ(1/2, z) = √π erfc √z, then downwards
      Γ(s, z) = (Γ(s + 1, z) − z^s e^(−z))/s, written with erfcx so that
      nothing underflows. The recurrence cancels at large z (relative loss
      ≈ 2z per step, < 1e−12 for z ≤ 40 where the k-sum stops mattering).

    Any other s goes through mpmath.gammainc, point by point.
    """
    z = np.asarray(z, dtype=np.float64)
    if np.any(z <= 0):
        raise ValueError("upper_incomplete_gamma needs z > 0")
    if float(s).is_integer() and s <= 1:
        m = int(1 - s)
        return z ** (1 - m) * sp.expn(m, z)
    if (2 * s).is_integer() and s <= 0.5:
        x = np.sqrt(z)
        # g = e^z Γ(s, z), starting from e^z Γ(1/2, z) = √π erfcx(√z)
        g = np.sqrt(np.pi) * sp.erfcx(x)
        order = 0.5
        while order > s:
            order -= 1.0
            g = (g - z**order) / order
        return g * np.exp(-z)
    flat = [float(mpmath.gammainc(s, float(v))) for v in z.ravel()]
    return np.asarray(flat).reshape(z.shape)


def smeared_power_law_fourier(k, sigma: float, p: float) -> np.ndarray:
    """φ̂_σ^(p)(k) = ∫ φ_σ^(p)(x) e^(−i k·x) d³x for k > 0.

    From the Gaussian superposition φ = Γ(p/2)⁻¹ ∫_0^{1/2σ²} a^(p/2−1)
    e^(−a x²) da and the transform (π/a)^(3/2) e^(−k²/4a) of each Gaussian,
    the substitution t = k²/4a gives

        φ̂(k) = π^(3/2)/Γ(p/2) (k/2)^(p−3) Γ((3 − p)/2, k²σ²/2),

    e.g. 4π e^(−k²σ²/2)/k² for p = 1.
    """
    k = np.asarray(k, dtype=np.float64)
    prefactor = np.pi**1.5 / math.gamma(0.5 * p)
    return prefactor * (0.5 * k) ** (p - 3) * upper_incomplete_gamma(0.5 * (3 - p), 0.5 * (k * sigma) ** 2)


def smeared_power_law_fourier_zero(sigma: float, p: float) -> float:
    """φ̂_σ^(p)(0) = ∫ φ_σ^(p) d³x, finite only for p > 3:
    π^(3/2)/Γ(p/2) ∫_0^{1/2σ²} a^((p−5)/2) da = π^(3/2)/Γ(p/2) (2σ²)^(−(p−3)/2) / ((p−3)/2)."""
    if p <= 3:
        raise ValueError("φ̂_σ^(p)(0) diverges for p ≤ 3")
    return np.pi**1.5 / math.gamma(0.5 * p) * (2 * sigma**2) ** (-0.5 * (p - 3)) / (0.5 * (p - 3))


def default_k_cutoff(sigma: float) -> float:
    """sqrt(2 · 40)/σ: see ``K_CUTOFF_EXPONENT``."""
    return math.sqrt(2 * K_CUTOFF_EXPONENT) / sigma


# -- the basis in reciprocal space ----------------------------------------------
def hankel_radial(basis: GtoReference, k, max_angular: int) -> np.ndarray:
    """I_nl(k) = ∫_0^∞ R̃_n(r) j_l(kr) r² dr, shape (len(k), L+1, N).

    Per primitive r^n e^(−r²/2s²) (the expression ``kspace_radial_coulomb``
    uses inline, not importable from there):
    √π 2^((n−l−1)/2) k^l s^(n+l+3) Γ((n+l+3)/2)/Γ(l+3/2) 1F1((n+l+3)/2; l+3/2; −k²s²/2),
    then the unit norms and S^(−1/2). scipy ≥ 1.11 evaluates 1F1 at large
    negative arguments to ~1e−13 relative (Boost), so no Kummer transform is
    needed here.
    """
    k = np.atleast_1d(np.asarray(k, dtype=np.float64))
    n = np.arange(basis.max_radial)
    out = np.empty((len(k), max_angular + 1, basis.max_radial))
    for l in range(max_angular + 1):
        a, b = 0.5 * (n + l + 3), l + 1.5
        log_pre = (0.5 * np.log(np.pi) + 0.5 * (n - l - 1) * np.log(2.0) + (n + l + 3) * np.log(basis.sigma)
                   + sp.gammaln(a) - sp.gammaln(b) + basis.log_norm)
        z = 0.5 * k[:, None] ** 2 * basis.sigma[None, :] ** 2
        primitive = np.exp(log_pre) * k[:, None] ** l * sp.hyp1f1(a, b, -z)
        out[:, l, :] = _dot(primitive, basis.orthonormaliser.T)
    return out


# -- one source in real space ----------------------------------------------------
def gaussian_radial(basis: GtoReference, a, d, max_angular: int) -> np.ndarray:
    """G_nl(a, d) with ⟨n l m|exp(−a|x − r|²)⟩ = Y_lm(r̂) G_nl(a, d), |r| = d,
    shape (len(a), len(d), L+1, N).

    From e^(−a|x−r|²) = 4π e^(−a(s²+d²)) Σ_lm i_l(2asd) Y_lm(x̂) Y_lm(r̂) and, per
    primitive s^k e^(−s²/2σ_k²) with A = a + 1/2σ_k², α = (k+l+3)/2, β = l+3/2,
    ∫ s^(k+2) e^(−As²) i_l(bs) ds = √π b^l Γ(α)/(2^(l+2) Γ(β) A^α) 1F1(α; β; b²/4A),
    b = 2ad. Kummer's transformation, e^(−ad²) 1F1(α; β; a²d²/A) =
    e^(−ad²/(2σ_k²A)) 1F1(β − α; β; −a²d²/A), keeps every factor finite.
    """
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))[:, None, None]
    d = np.atleast_1d(np.asarray(d, dtype=np.float64))[None, :, None]
    k = np.arange(basis.max_radial)
    c = 0.5 / basis.sigma**2
    big_a = a + c
    out = np.empty((a.shape[0], d.shape[1], max_angular + 1, basis.max_radial))
    for l in range(max_angular + 1):
        alpha, beta = 0.5 * (k + l + 3), l + 1.5
        log_pre = (np.log(4 * np.pi) + basis.log_norm + 0.5 * np.log(np.pi) - (l + 2) * np.log(2.0)
                   + sp.gammaln(alpha) - sp.gammaln(beta) - alpha * np.log(big_a))
        out[:, :, l, :] = (np.exp(log_pre - a * c * d**2 / big_a) * (2 * a * d) ** l
                           * sp.hyp1f1(beta - alpha, beta, -((a * d) ** 2) / big_a))
    return np.einsum("adlk,nk->adln", out, basis.orthonormaliser)  # thin: no BLAS, see _dot


def exact_radial(d, basis: GtoReference, sigma: float, p: float, max_angular: int) -> np.ndarray:
    """P_nl(d) of docs/conventions.md, "Potential coefficients", shape (len(d), L+1, N):

        P_nl(d) = Γ(p/2)⁻¹ ∫_0^{1/2σ²} a^(p/2−1) G_nl(a, d) da,

    by Gauss-Legendre on unit panels in log a over 60 e-folds below 1/2σ²;
    below that, G_nl(a, d) → G_nl(0, d) = 4π δ_l0 ∫ R̃_n s² ds adds
    G(0) a_min^(p/2)/(p/2) (the next term is a_min times smaller). Agrees with
    ``nested_radial`` to ~1e−14 (tests) at ~1/100 of its cost, which is what
    makes the image sum affordable.
    """
    d = np.atleast_1d(np.asarray(d, dtype=np.float64))
    top = math.log(0.5 / sigma**2)
    t, w = composite_gauss_legendre(np.linspace(top - 60.0, top, 61), 12)
    a = np.exp(t)
    out = np.zeros((len(d), max_angular + 1, basis.max_radial))
    weight = w * a ** (0.5 * p) / math.gamma(0.5 * p)
    for chunk in np.array_split(np.arange(len(d)), max(1, len(d) // 64)):
        out[chunk] = np.einsum("a,adln->dln", weight, gaussian_radial(basis, a, d[chunk], max_angular))
    a_min = math.exp(top - 60.0)
    out[:, 0, :] += 4 * np.pi * basis.moments(2) * a_min ** (0.5 * p) / (0.5 * p) / math.gamma(0.5 * p)
    return out


class SingleSourceRadial:
    """P_nl(d) for any d ≥ 0: ``exact_radial`` below a switch distance d_s, the
    far-field series Σ_k T_nlk d^−(l+p+2k) (``tail_coefficients``, K terms)
    beyond.

    The series is asymptotic (its error is ~exp(−d²/2(σ² + σ_n²)) at best);
    d_s = 13 sqrt(σ² + max σ_n²) with K = 24 matches the exact kernel to
    ~1e−15 relative for the bases tried. The constructor checks this at d_s,
    1.5 d_s and 2 d_s and refuses (ValueError) if the series is worse than
    1e−13 relative to each (l, d)'s largest |P_nl|.
    """

    def __init__(self, basis: GtoReference, sigma: float, p: float, max_angular: int, terms: int = 24):
        self.basis, self.sigma, self.p, self.max_angular = basis, sigma, p, max_angular
        self.switch = 13.0 * math.sqrt(sigma**2 + float(basis.sigma.max()) ** 2)
        self.terms = tail_coefficients(basis, max_angular, p, terms)  # (L+1, N, K)
        probe = self.switch * np.array([1.0, 1.5, 2.0])
        exact, series = exact_radial(probe, basis, sigma, p, max_angular), self.series(probe)
        error = np.abs(series - exact) / np.abs(exact).max(axis=2, keepdims=True)
        if error.max() > 1e-13:
            raise ValueError(f"far-field series off by {error.max():.1e} at the switch {self.switch:.2f} Å")

    def series(self, d) -> np.ndarray:
        """Σ_k T_nlk d^−(l+p+2k) by Horner's rule in 1/d², shape (len(d), L+1, N)."""
        d = np.atleast_1d(np.asarray(d, dtype=np.float64))
        u = d[:, None] ** -2.0
        out = np.empty((len(d), self.max_angular + 1, self.basis.max_radial))
        for l in range(self.max_angular + 1):
            acc = np.broadcast_to(self.terms[l, :, -1], (len(d), self.basis.max_radial)).copy()
            for j in range(self.terms.shape[2] - 2, -1, -1):
                acc = acc * u + self.terms[l, :, j]
            out[:, l, :] = acc * d[:, None] ** -(l + self.p)
        return out

    def __call__(self, d) -> np.ndarray:
        d = np.atleast_1d(np.asarray(d, dtype=np.float64))
        out = np.empty((len(d), self.max_angular + 1, self.basis.max_radial))
        near = d < self.switch
        if near.any():
            # many images share a distance in symmetric cells
            unique, inverse = np.unique(d[near], return_inverse=True)
            out[near] = exact_radial(unique, self.basis, self.sigma, self.p, self.max_angular)[inverse]
        if (~near).any():
            out[~near] = self.series(d[~near])
        return out


def self_projection(basis: GtoReference, sigma: float, p: float) -> np.ndarray:
    """⟨n 0 0|φ_σ⟩ = ∫ R̃_n(r) Y_00 φ_σ(r) d³x = √(4π) ∫ R̃_n(r) φ_σ(r) r² dr,
    shape (N,): the coefficient of the centre's own smeared atom (only l = 0;
    = Y_00 P_n0(0)). Plain Gauss-Legendre quadrature on panels of width σ/2
    near the origin, where φ_σ bends, and 1/4 Å beyond."""
    r_max = basis.extent()
    fine = np.linspace(0.0, min(r_max, 12 * sigma), 25)
    coarse = np.linspace(fine[-1], r_max, max(2, int(math.ceil((r_max - fine[-1]) / 0.25)) + 1))
    r, w = composite_gauss_legendre(np.unique(np.concatenate([fine, coarse])), 16)
    return math.sqrt(4 * np.pi) * (basis(r) * (w * r**2 * smeared_power_law(r, sigma, p))[:, None]).sum(axis=0)


# -- lattice helpers ---------------------------------------------------------------
def reciprocal_cell(cell) -> np.ndarray:
    """B = 2π inv(cell)ᵀ: rows b_i with a_i · b_j = 2π δ_ij."""
    return 2 * np.pi * np.linalg.inv(np.asarray(cell, dtype=np.float64)).T


def half_space_kvectors(cell, k_cutoff: float) -> np.ndarray:
    """Reciprocal vectors k = m·B with 0 < |k| ≤ k_cutoff, one of each pair ±k
    (m1 > 0, or m1 = 0 and m2 > 0, or m1 = m2 = 0 and m3 > 0), sorted by |k|
    so that chunks share |k| values. |m_i| ≤ k_cutoff |a_i|/2π because
    m_i = k·a_i/2π."""
    cell = np.asarray(cell, dtype=np.float64)
    recip = reciprocal_cell(cell)
    bound = np.floor(k_cutoff * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int)
    m2, m3 = np.meshgrid(np.arange(-bound[1], bound[1] + 1), np.arange(-bound[2], bound[2] + 1), indexing="ij")
    m2, m3 = m2.ravel(), m3.ravel()
    found = []
    for m1 in range(bound[0] + 1):
        m = np.stack([np.full_like(m2, m1), m2, m3], axis=1)
        if m1 == 0:
            m = m[(m2 > 0) | ((m2 == 0) & (m3 > 0))]
        k = _dot(m.astype(np.float64), recip)
        found.append(k[np.einsum("ij,ij->i", k, k) <= k_cutoff**2])
    k = np.concatenate(found)
    return k[np.argsort(np.linalg.norm(k, axis=1), kind="stable")]


def shortest_reciprocal_vector(cell) -> float:
    """min |k| over k ≠ 0: the search sphere of radius min_i |b_i| holds that b_i,
    hence the shortest vector."""
    recip = reciprocal_cell(cell)
    k = half_space_kvectors(cell, float(np.linalg.norm(recip, axis=1).min()) * (1 + 1e-12))
    return float(np.linalg.norm(k[0]))


def _prepare(positions, types, cell, species, centers):
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    types = np.asarray(types).reshape(-1)
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    species = np.asarray(list(species))
    if len(types) != len(positions):
        raise ValueError("positions and types differ in length")
    if not np.all(np.isin(types, species)):
        raise ValueError(f"types {sorted(set(types.tolist()) - set(species.tolist()))} not in species")
    if abs(np.linalg.det(cell)) < 1e-12:
        raise ValueError("the cell is singular: 3-D periodicity only")
    centers = np.arange(len(positions)) if centers is None else np.asarray(centers, dtype=int).reshape(-1)
    channel = np.array([species.tolist().index(t) for t in types.tolist()], dtype=int)  # in the order given
    return positions, types, cell, species, centers, channel


def _lm_to_l(max_angular: int) -> np.ndarray:
    """l of every column l*l + l + m."""
    return np.repeat(np.arange(max_angular + 1), 2 * np.arange(max_angular + 1) + 1)


# -- the definition: reciprocal-space sum ----------------------------------------------
def periodic_potential_reference(positions, types, cell, *, species: Sequence[int], cutoff: float,
                                 max_radial: int, max_angular: int, gaussian_width: float,
                                 potential_exponent: float = 1, center_atom_weight: float = 1.0,
                                 centers: Optional[Sequence[int]] = None,
                                 k_cutoff: Optional[float] = None) -> np.ndarray:
    """Periodic potential coefficients by the reciprocal-space sum.

    Parameters
    ----------
    positions : (n_atoms, 3) array
        Cartesian positions in Å (any images: the sum only sees k·(r_j − r_i)
        modulo 2π).
    types : (n_atoms,) array of int
        Species (atomic numbers), each one of `species`.
    cell : (3, 3) array
        Rows are the lattice vectors a, b, c in Å; periodic in all three.
    species : sequence of int
        The channels, in this order (pass them sorted to follow mslode).
    cutoff, max_radial, max_angular
        The GTO basis (docs/conventions.md, "Radial basis"), l ≤ max_angular.
    gaussian_width : float
        σ of φ_σ^(p), Å.
    potential_exponent : float
        p. k = 0 is left out for p ≤ 3, kept for p > 3.
    center_atom_weight : float
        w: the centre itself gets weight w, its images and every other atom 1.
    centers : sequence of int, optional
        Indices of the central atoms (default: all).
    k_cutoff : float, optional
        Sum over 0 < |k| ≤ k_cutoff (Å⁻¹); default sqrt(80)/σ.

    Returns
    -------
    np.ndarray
        Shape (n_centers, len(species), max_radial, (max_angular+1)**2),
        float64, column l*l + l + m.

    Notes
    -----
    The sum over ±k is done over one half-space: the −k term is the complex
    conjugate of the +k one (T(−k) = T(k)* because i^l (−1)^l = (−i)^l), so
    c = (2/Ω) Σ_{half} Re[...] + (k = 0 term)/Ω. With F_ia(k) = Σ_{j∈a}
    e^{−ik·(r_j − r_i)}, Re(i^l F) = cos(lπ/2) Re F − sin(lπ/2) Im F.
    Work is chunked over k (~5e6 numbers per array), so memory stays small.
    """
    positions, types, cell, species, centers, channel = _prepare(positions, types, cell, species, centers)
    sigma, p, lmax = float(gaussian_width), float(potential_exponent), int(max_angular)
    omega = abs(float(np.linalg.det(cell)))
    basis = GtoReference(cutoff, max_radial)
    k_cutoff = default_k_cutoff(sigma) if k_cutoff is None else float(k_cutoff)
    n_lm = (lmax + 1) ** 2
    ls = _lm_to_l(lmax)
    cos_l = np.round(np.cos(0.5 * np.pi * ls))
    sin_l = np.round(np.sin(0.5 * np.pi * ls))

    # wrapping changes no phase k·L (= 2π m), but keeps |k·r| small for round-off
    fractional = positions @ np.linalg.inv(cell)
    positions = (fractional - np.floor(fractional)) @ cell
    onehot = (channel[:, None] == np.arange(len(species))[None, :]).astype(np.float64)  # (atoms, S)

    out = np.zeros((len(centers), len(species), max_radial, n_lm))
    kvectors = half_space_kvectors(cell, k_cutoff)
    width = len(centers) * len(species) + len(positions) + max_radial * n_lm
    chunk = max(256, int(5e6 // width))
    for start in range(0, len(kvectors), chunk):
        k = kvectors[start:start + chunk]
        norm = np.linalg.norm(k, axis=1)
        unique, inverse = np.unique(norm, return_inverse=True)
        radial = hankel_radial(basis, unique, lmax)[inverse]  # (C, L+1, N)
        phi = smeared_power_law_fourier(unique, sigma, p)[inverse]  # (C,)
        # T_nlm(k) φ̂(k) without the i^l, shape (C, N, LM)
        t = (4 * np.pi * phi)[:, None, None] * radial[:, ls, :].transpose(0, 2, 1) * real_spherical_harmonics(k, lmax)[:, None, :]
        t = t.reshape(len(k), -1)
        phase = _dot(positions, k.T)  # (atoms, C)
        cos, sin = np.cos(phase), np.sin(phase)
        sum_cos, sum_sin = _dot(onehot.T, cos), _dot(onehot.T, sin)  # Σ_{j∈a} cos(k·r_j), sin(k·r_j): (S, C)
        ci, si = cos[centers][:, None, :], sin[centers][:, None, :]
        real = ci * sum_cos + si * sum_sin  # Re F_ia(k) = Σ_j cos(k·(r_j − r_i))
        imag = si * sum_cos - ci * sum_sin  # Im F_ia(k) = −Σ_j sin(k·(r_j − r_i))
        cos_part = (t.reshape(len(k), max_radial, n_lm) * cos_l).reshape(len(k), -1)
        sin_part = (t.reshape(len(k), max_radial, n_lm) * -sin_l).reshape(len(k), -1)
        # one 2-D product (not a batched matmul of thin (S, C) blocks: see _dot)
        both = np.concatenate([real.reshape(-1, len(k)), imag.reshape(-1, len(k))], axis=1)
        out += (2.0 / omega) * _dot(both, np.concatenate([cos_part, sin_part])).reshape(out.shape)

    if p > 3:
        # k = 0: S_a(0) = N_a, T_n00(0) = ∫ R̃_n Y_00 d³x = √(4π) ∫ R̃_n r² dr
        counts = onehot.sum(axis=0)
        out[:, :, :, 0] += (smeared_power_law_fourier_zero(sigma, p) / omega * counts[None, :, None]
                            * math.sqrt(4 * np.pi) * basis.moments(2)[None, None, :])
    if center_atom_weight != 1.0:
        own = self_projection(basis, sigma, p)
        out[np.arange(len(centers)), channel[centers], :, 0] += (center_atom_weight - 1.0) * own
    return out


# -- an independent check for p > 3: real-space image sum -------------------------------
def image_sum_reference(positions, types, cell, *, species: Sequence[int], cutoff: float, max_radial: int,
                        max_angular: int, gaussian_width: float, potential_exponent: float, radius: float,
                        centers: Optional[Sequence[int]] = None) -> np.ndarray:
    """Σ_{j∈a} Σ_L ⟨n l m|φ_σ(· − r_j − L + r_i)⟩ in real space, p > 3, all weights 1.

    Parameters are those of ``periodic_potential_reference`` (no centre
    weight, no k cut-off) plus `radius` (Å), the radius of the window below.

    Returns
    -------
    np.ndarray
        Shape (n_centers, len(species), max_radial, (max_angular+1)**2).

    Notes
    -----
    A sharp sphere |r_j + L − r_i| < R plus the continuum beyond it converges
    slowly: the number of lattice points in a sphere fluctuates about its
    volume, which leaves ~1e−8 relative at R = 50 lattice spacings for
    Σ|L|^−6. So the images are weighted by a smooth window
    w(s) = erfc((s − R)/√2 b)/2, b = R/8, and the rest, Σ (1 − w) F, is replaced
    by its continuum n_a ∫ (1 − w(|s|)) F(s) d³s (Poisson summation: the error
    is of order exp(−(k_min b)²/2), k_min the shortest reciprocal vector; a
    ValueError asks for a larger R when that exceeds ~e^−36 ≈ 2e−16, i.e.
    R < 68/k_min). Only l = 0 survives the angular integral of the continuum:

        n_a √(4π) ∫_0^∞ (1 − w(s)) P_n0(s) s² ds,

    by quadrature up to s_far = R + 6b, analytically beyond from the
    far-field series, Σ_k T_n0k s_far^(3−p−2k)/(p+2k−3) (its leading term is
    the brief's 4π √(4π) ∫R̃_n r² dr · s_far^(3−p)/(p−3); 1 − w(s_far) = 1 − 1e−9
    is taken as 1). Images beyond s_far (w < 1e−9) are left out.
    P_nl(d): ``SingleSourceRadial``.
    """
    p = float(potential_exponent)
    if p <= 3:
        raise ValueError("the lattice sum diverges for p ≤ 3")
    positions, types, cell, species, centers, channel = _prepare(positions, types, cell, species, centers)
    sigma, lmax = float(gaussian_width), int(max_angular)
    omega = abs(float(np.linalg.det(cell)))
    k_min = shortest_reciprocal_vector(cell)
    if radius * k_min < 68.0:
        raise ValueError(f"radius {radius} Å too small for this cell: use at least {68.0 / k_min:.1f} Å")
    basis = GtoReference(cutoff, max_radial)
    radial = SingleSourceRadial(basis, sigma, p, lmax)
    b = radius / WINDOW_RATIO
    s_far = radius + WINDOW_EXTENT * b
    ls = _lm_to_l(lmax)

    def window(s):
        return 0.5 * sp.erfc((s - radius) / (math.sqrt(2.0) * b))

    # lattice translations that can bring an image within s_far (after wrapping
    # r_j − r_i into the cell, |n_i| ≤ s_far/h_i + 1 with h_i the plane spacings)
    spacing = 2 * np.pi / np.linalg.norm(reciprocal_cell(cell), axis=1)
    bound = np.ceil(s_far / spacing).astype(int) + 1
    grids = np.meshgrid(*[np.arange(-m, m + 1) for m in bound], indexing="ij")
    translations = np.stack([g.ravel() for g in grids], axis=1) @ cell  # (T, 3)

    out = np.zeros((len(centers), len(species), max_radial, (lmax + 1) ** 2))
    inv_cell = np.linalg.inv(cell)
    for row, i in enumerate(centers):
        for j in range(len(positions)):
            delta = positions[j] - positions[i]
            fractional = delta @ inv_cell
            delta = (fractional - np.round(fractional)) @ cell
            vectors = delta + translations
            d = np.linalg.norm(vectors, axis=1)
            keep = d < s_far
            vectors, d = vectors[keep], d[keep]
            weight = window(d)
            origin = d < 1e-12  # the centre itself: only l = 0, Y_00 P_n0(0)
            if origin.any():
                out[row, channel[j], :, 0] += weight[origin].sum() * radial(np.zeros(1))[0, 0] / math.sqrt(4 * np.pi)
            vectors, d, weight = vectors[~origin], d[~origin], weight[~origin]
            values = radial(d)[:, ls, :] * weight[:, None, None]  # (D, LM, N)
            out[row, channel[j]] += np.einsum("dmn,dm->nm", values, real_spherical_harmonics(vectors, lmax))

    # continuum of the images weighted 1 − w, l = 0 only
    edges = np.unique(np.concatenate([np.linspace(0.0, radial.switch, int(math.ceil(radial.switch)) + 1),
                                      np.linspace(radial.switch, s_far, int(math.ceil(4 * (s_far - radial.switch) / b)) + 1)]))
    s, w_s = composite_gauss_legendre(edges, 12)
    integral = ((1.0 - window(s)) * w_s * s**2) @ radial(s)[:, 0, :]
    k = np.arange(radial.terms.shape[2])
    integral += (radial.terms[0] * (s_far ** (3 - p - 2 * k) / (p + 2 * k - 3))).sum(axis=1)
    counts = np.bincount(channel, minlength=len(species))
    out[:, :, :, 0] += (counts / omega)[None, :, None] * math.sqrt(4 * np.pi) * integral[None, None, :]
    return out
