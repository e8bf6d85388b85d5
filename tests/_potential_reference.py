"""Independent, slow Python references for the potential expansion
(docs/conventions.md, "Atom-centred potential" and "Potential coefficients").

Nothing here calls mslode. The GTO basis is rebuilt from its definition
(analytic overlap of unit-norm primitives, numpy eigendecomposition), the real
spherical harmonics come from scipy's complex ones, φ_σ^(p) from scipy's
regularised incomplete gamma (erf for p = 1), and the projections are done by
plain quadrature in three independent ways:

- ``nested_radial``: P_nl(d) = 4π/(2l+1) ∫ R̃_n(r) v_l(r, d) r² dr with the
  Legendre component v_l(r, d) = (2l+1)/2 ∫ φ(|x - r|) P_l(u) du, both by
  composite Gauss-Legendre rules refined where φ varies fast;
- ``kspace_radial_coulomb`` (p = 1): P_nl(d) = (2/π) ∫ k² φ̂(k) I_nl(k) j_l(kd) dk
  with φ̂(k) = 4π e^{-k²σ²/2}/k² and I_nl(k) = ∫ R̃_n j_l(kr) r² dr analytic;
- ``SphericalGrid``: a 3-D product grid (r, cos θ, φ) around the centre on
  which the total potential of several smeared sources is projected on
  R̃_n(r) Y_lm(x̂) directly.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp


# -- orthonormal GTO radial basis ------------------------------------------
class GtoReference:
    """R̃ = S^(-1/2) R of docs/conventions.md, "Radial basis": σ_n = r_c
    max(√n, 1)/n_max, unit-norm primitives r^n exp(-r²/2σ_n²) on [0, ∞),
    symmetric orthonormalisation."""

    def __init__(self, cutoff: float, max_radial: int):
        n = np.arange(max_radial)
        self.max_radial = max_radial
        self.sigma = cutoff * np.maximum(np.sqrt(n), 1.0) / max_radial
        # ∫ r^(2n+2) e^(-r²/σ²) dr = Γ(n+3/2) σ^(2n+3) / 2
        self.log_norm = -0.5 * (sp.gammaln(n + 1.5) + (2 * n + 3) * np.log(self.sigma) - np.log(2.0))
        a = 0.5 / self.sigma[:, None] ** 2 + 0.5 / self.sigma[None, :] ** 2
        k = n[:, None] + n[None, :] + 2
        overlap = np.exp(sp.gammaln(0.5 * (k + 1)) - 0.5 * (k + 1) * np.log(a) - np.log(2.0)
                         + self.log_norm[:, None] + self.log_norm[None, :])
        values, vectors = np.linalg.eigh(overlap)
        self.orthonormaliser = vectors @ np.diag(values**-0.5) @ vectors.T

    def __call__(self, r) -> np.ndarray:
        """R̃_n(r), shape (len(r), n_max)."""
        r = np.asarray(r, dtype=np.float64)[..., None]
        n = np.arange(self.max_radial)
        primitives = np.exp(self.log_norm) * r**n * np.exp(-0.5 * r**2 / self.sigma**2)
        return primitives @ self.orthonormaliser.T

    def moments(self, power: int) -> np.ndarray:
        """∫ R̃_n(r) r^power dr (analytic per primitive), shape (n_max,)."""
        n = np.arange(self.max_radial)
        k = n + power
        # ∫ r^k e^(-r²/2σ²) dr = Γ((k+1)/2) (2σ²)^((k+1)/2) / 2
        log = sp.gammaln(0.5 * (k + 1)) + 0.5 * (k + 1) * np.log(2 * self.sigma**2) - np.log(2.0)
        return self.orthonormaliser @ np.exp(log + self.log_norm)

    def extent(self, tol: float = 1e-18) -> float:
        """A radius beyond which every R̃_n(r) r is below tol of its maximum."""
        r = np.linspace(0.0, 40 * self.sigma.max(), 4001)
        f = np.abs(self(r) * r[:, None]).max(axis=1)
        return float(r[np.nonzero(f > tol * f.max())[0][-1]])


# -- real spherical harmonics ------------------------------------------------
def real_spherical_harmonics_angles(theta, phi, max_angular: int) -> np.ndarray:
    """Y_lm (sphericart convention) at polar angle θ and azimuth φ, shape
    (..., (L+1)²), index l*l+l+m: from scipy's complex Y_l^m (with the
    Condon-Shortley phase), m > 0: √2 (-1)^m Re Y_l^m, m < 0: √2 (-1)^m Im Y_l^|m|."""
    theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    out = np.empty(theta.shape + ((max_angular + 1) ** 2,))
    for l in range(max_angular + 1):
        out[..., l * l + l] = sp.sph_harm_y(l, 0, theta, phi).real
        for m in range(1, l + 1):
            y = sp.sph_harm_y(l, m, theta, phi)
            out[..., l * l + l + m] = np.sqrt(2.0) * (-1) ** m * y.real
            out[..., l * l + l - m] = np.sqrt(2.0) * (-1) ** m * y.imag
    return out


def real_spherical_harmonics(vectors, max_angular: int) -> np.ndarray:
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    theta = np.arctan2(np.hypot(vectors[:, 0], vectors[:, 1]), vectors[:, 2])
    phi = np.arctan2(vectors[:, 1], vectors[:, 0])
    return real_spherical_harmonics_angles(theta, phi, max_angular)


# -- the smeared power law ----------------------------------------------------
def smeared_power_law(x, sigma: float, p: int) -> np.ndarray:
    """φ_σ^(p)(x) = P(p/2, x²/2σ²)/x^p (erf(x/√2σ)/x for p = 1), finite at 0."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    z = 0.5 * x**2 / sigma**2
    a = 0.5 * p
    out = np.empty_like(x)
    small = z < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 1:
            big = sp.erf(x / (np.sqrt(2.0) * sigma)) / x
        else:
            big = sp.gammainc(a, z) / x**p
    out[~small] = big[~small]
    # P(a, z) = z^a e^-z Σ_k z^k / Γ(a+k+1): φ = (2σ²)^-a e^-z Σ_k z^k/Γ(a+k+1)
    zs = z[small]
    series = np.zeros_like(zs)
    term = np.full_like(zs, 1.0 / sp.gamma(a + 1))
    for k in range(40):
        series += term
        term = term * zs / (a + k + 1)
    out[small] = (2 * sigma**2) ** -a * np.exp(-zs) * series
    return out


# -- composite Gauss-Legendre rules -------------------------------------------
def composite_gauss_legendre(edges, order: int):
    """Nodes and weights of an `order`-point Gauss-Legendre rule on each
    interval between consecutive `edges`."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.asarray(edges, dtype=np.float64)
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = 0.5 * (hi + lo) + 0.5 * (hi - lo) * x
    weights = 0.5 * (hi - lo) * w
    return nodes.ravel(), weights.ravel()


def radial_edges(r_max: float, refine_at, width: float, fine: float, coarse: float):
    """Panel edges on [0, r_max]: `fine` panels within `width` of each point
    of `refine_at` (and of 0), `coarse` ones elsewhere."""
    points = [0.0, r_max]
    for c in list(refine_at) + [0.0]:
        lo, hi = max(0.0, c - width), min(r_max, c + width)
        if hi > lo:
            points.extend(np.linspace(lo, hi, int(np.ceil((hi - lo) / fine)) + 1))
    points = np.unique(np.asarray(points))
    edges = [points[0]]
    for b in points[1:]:
        n = int(np.ceil((b - edges[-1]) / coarse))
        edges.extend(np.linspace(edges[-1], b, n + 1)[1:])
    return np.unique(np.asarray(edges))


def _u_rule():
    """Gauss-Legendre on [-1, 1], panels refined geometrically towards u = 1
    (where |x - r| is smallest) down to 1 - 1e-14."""
    edges = np.concatenate([[-1.0, -0.5, 0.0], 1.0 - 0.5 ** np.arange(1, 48), [1.0]])
    return composite_gauss_legendre(edges, 16)


# -- nested 1-D route ---------------------------------------------------------
def nested_radial(d_values, *, cutoff: float, sigma: float, max_radial: int, max_angular: int, p: int,
                  basis: GtoReference | None = None) -> np.ndarray:
    """P_nl(d) by nested quadrature, shape (len(d), L+1, N)."""
    basis = basis or GtoReference(cutoff, max_radial)
    r_max = basis.extent()
    u, wu = _u_rule()
    legendre = np.stack([sp.eval_legendre(l, u) for l in range(max_angular + 1)])  # (L+1, U)
    out = np.zeros((len(d_values), max_angular + 1, max_radial))
    for i, d in enumerate(np.atleast_1d(d_values)):
        edges = radial_edges(r_max, [d], width=12 * sigma, fine=0.25 * sigma, coarse=0.25)
        r, wr = composite_gauss_legendre(edges, 12)
        dist = np.sqrt(np.maximum(r[:, None] ** 2 + d**2 - 2 * r[:, None] * d * u[None, :], 0.0))
        phi = smeared_power_law(dist, sigma, p)  # (R, U)
        v = 0.5 * (phi * wu) @ legendre.T * (2 * np.arange(max_angular + 1) + 1)  # (R, L+1)
        radial = basis(r) * (wr * r**2)[:, None]  # (R, N)
        out[i] = (4 * np.pi / (2 * np.arange(max_angular + 1) + 1))[:, None] * (v.T @ radial)
    return out


# -- k-space route, p = 1 -----------------------------------------------------
def kspace_radial_coulomb(d_values, *, cutoff: float, sigma: float, max_radial: int, max_angular: int,
                          basis: GtoReference | None = None) -> np.ndarray:
    """P_nl(d) = (2/π) ∫ 4π e^{-k²σ²/2} I_nl(k) j_l(kd) dk, shape (len(d), L+1, N).

    I_nl(k) = ∫ R_n(r) j_l(kr) r² dr per primitive r^n e^{-r²/2σ_n²}:
    √π 2^((n-l-1)/2) k^l σ_n^(n+l+3) Γ((n+l+3)/2)/Γ(l+3/2) 1F1((n+l+3)/2; l+3/2; -k²σ_n²/2).
    """
    basis = basis or GtoReference(cutoff, max_radial)
    k_max = np.sqrt(2 * 80.0) / sigma
    k, wk = composite_gauss_legendre(np.linspace(0.0, k_max, 401), 16)
    n = np.arange(max_radial)
    out = np.zeros((len(d_values), max_angular + 1, max_radial))
    for l in range(max_angular + 1):
        s = basis.sigma[None, :]
        a, b = 0.5 * (n + l + 3), l + 1.5
        log_pre = (0.5 * np.log(np.pi) + 0.5 * (n - l - 1) * np.log(2.0) + (n + l + 3) * np.log(basis.sigma)
                   + sp.gammaln(a) - sp.gammaln(b) + basis.log_norm)
        # 1F1(a; b; -z) = e^-z 1F1(b-a; b; z) (Kummer) keeps it positive and tame
        z = 0.5 * k[:, None] ** 2 * s**2
        with np.errstate(over="ignore", invalid="ignore"):
            kummer = np.exp(-z) * sp.hyp1f1(b - a, b, z)
        hyp = np.where(z < 300.0, kummer, sp.hyp1f1(a, b, -z))
        primitive = np.exp(log_pre) * k[:, None] ** l * hyp  # (K, N)
        integral = primitive @ basis.orthonormaliser.T  # (K, N) orthonormal
        weight = wk * 4 * np.pi * np.exp(-0.5 * k**2 * sigma**2) * 2 / np.pi
        for i, d in enumerate(np.atleast_1d(d_values)):
            out[i, l] = (weight * sp.spherical_jn(l, k * d)) @ integral
    return out


# -- analytic far field ------------------------------------------------------
def gegenbauer_legendre_coefficient(l: int, j: int, p: int) -> float:
    """(2l+1)/2 ∫ C^{(p/2)}_{l+2j}(u) P_l(u) du: the P_l component of the
    Gegenbauer polynomial in |x - d|^-p = d^-p Σ_k C_k^{(p/2)}(u) (r/d)^k."""
    u, w = np.polynomial.legendre.leggauss(l + 2 * j + 4)
    return 0.5 * (2 * l + 1) * float(np.sum(w * sp.eval_gegenbauer(l + 2 * j, 0.5 * p, u) * sp.eval_legendre(l, u)))


def tail_coefficients(basis: GtoReference, max_angular: int, p: int, terms: int) -> np.ndarray:
    """T_nlk of P_nl(d) ≈ Σ_k T_nlk d^-(l+p+2k), shape (L+1, N, terms):
    T_nlk = 4π/(2l+1) g_lk ∫ R̃_n r^(l+2k+2) dr."""
    out = np.zeros((max_angular + 1, basis.max_radial, terms))
    for l in range(max_angular + 1):
        for j in range(terms):
            g = gegenbauer_legendre_coefficient(l, j, p)
            out[l, :, j] = 4 * np.pi / (2 * l + 1) * g * basis.moments(l + 2 * j + 2)
    return out


# -- 3-D product grid -----------------------------------------------------------
class SphericalGrid:
    """Product quadrature on (r, cos θ, φ) around the centre: composite
    Gauss-Legendre in r (refined around each source distance) and in cos θ,
    the trapezoid rule in φ (exact for the trigonometric factors)."""

    def __init__(self, basis: GtoReference, max_angular: int, sources, sigma: float,
                 n_theta: int = 96, n_phi: int = 96, fine: float = 1.0, coarse: float = 1.0):
        sources = np.atleast_2d(sources)
        d = np.linalg.norm(sources, axis=1)
        edges = radial_edges(basis.extent(), d, width=8 * sigma, fine=fine * sigma, coarse=coarse)
        self.r, self.wr = composite_gauss_legendre(edges, 10)
        cos_t, self.wt = composite_gauss_legendre(np.linspace(-1.0, 1.0, n_theta // 8 + 1), 8)
        self.theta = np.arccos(cos_t)
        self.phi = 2 * np.pi * np.arange(n_phi) / n_phi
        self.wp = np.full(n_phi, 2 * np.pi / n_phi)
        self.ylm = real_spherical_harmonics_angles(self.theta[:, None], self.phi[None, :], max_angular)  # (T, P, LM)
        self.radial = basis(self.r)  # (R, N)
        st = np.sin(self.theta)
        self.unit = np.stack([st[:, None] * np.cos(self.phi)[None, :], st[:, None] * np.sin(self.phi)[None, :],
                              np.broadcast_to(cos_t[:, None], (len(cos_t), n_phi))], axis=-1)  # (T, P, 3)

    def project(self, sources, weights, sigma: float, p: int) -> np.ndarray:
        """⟨n l m|Σ_j w_j φ(x - r_j)⟩, shape (N, (L+1)²)."""
        angular = np.zeros((len(self.r), self.ylm.shape[-1]))
        yw = self.ylm * (self.wt[:, None] * self.wp[None, :])[..., None]  # (T, P, LM)
        for chunk in np.array_split(np.arange(len(self.r)), max(1, len(self.r) // 32)):
            x = self.r[chunk, None, None, None] * self.unit[None]  # (c, T, P, 3)
            v = np.zeros(x.shape[:-1])
            for source, w in zip(np.atleast_2d(sources), weights):
                v += w * smeared_power_law(np.linalg.norm(x - source, axis=-1), sigma, p)
            angular[chunk] = np.einsum("ctp,tpk->ck", v, yw)
        return (self.radial * (self.wr * self.r**2)[:, None]).T @ angular


def per_structure_sums(inv, species, n_structures):
    """[Σ_{i of species z} x_i for z in species]: the design matrix of
    T(A) = Σ_i w_{a_i} · x_i."""
    width = inv.values.shape[1]
    X = np.zeros((n_structures, len(species) * width))
    for k, z in enumerate(species):
        rows = inv.center_species == z
        np.add.at(X[:, k * width:(k + 1) * width], inv.structure[rows], inv.values[rows])
    return X


def molecule_in_box(isolated: np.ndarray, molecule, species, side: float, sigma: float,
                    basis: GtoReference) -> np.ndarray:
    """Coefficients of a molecule alone in a cubic periodic box of side b, p = 1,
    predicted from the isolated molecule's (docs/conventions.md, "Periodic
    structures"): per species channel a, the images and the neutralising
    background add N_a ξ + (2π/3Ω) Σ_{j∈a} |x - r_ji|² (l = 0) and
    -(4π/3Ω) x·D_a (l = 1), ξ = -2.837297/b + 2πσ²/Ω, up to O(|x|⁴/b⁵)."""
    volume = side**3
    xi = -2.837297479480620 / side + 2 * np.pi * sigma**2 / volume
    predicted = isolated.copy()
    for a, z in enumerate(species):
        r = molecule.positions[molecule.numbers == z]
        for i in range(len(molecule)):
            rji = r - molecule.positions[i]
            constant = len(r) * xi + 2 * np.pi / (3 * volume) * np.sum(rji**2)
            predicted[i, a, :, 0] += np.sqrt(4 * np.pi) * (
                constant * basis.moments(2) + 2 * np.pi * len(r) / (3 * volume) * basis.moments(4))
            # ⟨R̃_n Y_1m|x_k⟩ = √(4π/3) ∫ R̃_n r³ dr for (y, z, x)[m]
            dipole = rji.sum(axis=0)[[1, 2, 0]]
            predicted[i, a, :, 1:4] -= 4 * np.pi / (3 * volume) * np.sqrt(4 * np.pi / 3) * np.outer(
                basis.moments(3), dipole)
    return predicted
