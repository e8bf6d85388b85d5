"""featomic's LODE coefficients in mslode's layout, for the tests that
cross-check against it (skipped where featomic is not installed)."""

from __future__ import annotations

import numpy as np


def featomic_lode_coefficients(featomic, frame, species, sigma, p, center_atom_weight, n_max, l_max, cutoff) -> np.ndarray:
    """featomic 0.6 LODE coefficients in our layout. Its radial basis `Gto`
    with max_radial = n_max - 1 and radius = r_c is ours (same widths,
    unit-norm primitives, Löwdin); k_cutoff 8/σ converges its k-sum (the
    terms fall like exp(-k²σ²/2))."""
    hypers = dict(
        density={"type": "SmearedPowerLaw", "smearing": sigma, "exponent": p,
                 "center_atom_weight": center_atom_weight},
        basis={"type": "TensorProduct", "max_angular": l_max,
               "radial": {"type": "Gto", "max_radial": n_max - 1, "radius": cutoff}, "spline_accuracy": None},
        k_cutoff=8.0 / sigma,
    )
    tensor = featomic.LodeSphericalExpansion(**hypers).compute(frame)
    tensor = tensor.keys_to_properties("neighbor_type").keys_to_samples("center_type")
    out = np.zeros((len(frame), len(species), n_max, (l_max + 1) ** 2))
    for key, block in tensor.items():
        l = int(key["o3_lambda"])
        atoms = np.asarray(block.samples["atom"])
        values = np.asarray(block.values)  # (sample, m, property)
        for k, (z, n) in enumerate(zip(block.properties["neighbor_type"], block.properties["n"])):
            out[atoms, species.index(int(z)), int(n), l * l:(l + 1) ** 2] = values[:, :, k]
    return out


def featomic_density_hypers(cutoff, width, sigma, max_radial, max_angular, center_atom_weight):
    """Our (r_c, w, σ, n_max, l_max) → featomic 0.6. featomic's max_radial is
    the largest n (n_max - 1 functions beyond n = 0); its GTO widths
    σ_n = r_c max(√n, 1)/n_max, unit-norm primitives and Löwdin S^(-1/2) over
    [0, ∞) are ours (docs/conventions.md, "Radial basis"; featomic:
    featomic/src/calculators/shared/basis/radial/gto.rs),
    so even the coefficients can be compared. spline_accuracy None: featomic's
    analytic 1F1 radial integrals, no spline."""
    return dict(
        cutoff={"radius": cutoff, "smoothing": {"type": "ShiftedCosine", "width": width}},
        density={"type": "Gaussian", "width": sigma, "center_atom_weight": center_atom_weight},
        basis={"type": "TensorProduct", "max_angular": max_angular,
               "radial": {"type": "Gto", "max_radial": max_radial - 1}, "spline_accuracy": None},
    )


def featomic_density_ratio(sigma):
    """featomic's atomic Gaussian is L2-normalised, (πσ²)^(-3/4) e^(-r²/2σ²)
    (soap/radial_integral/gto.rs); ours (docs/conventions.md, "Smeared atoms") is
    unit-charge, (2πσ²)^(-3/2) e^(-r²/2σ²).
    So c_ours = α c_featomic with α = (2πσ²)^(-3/2) (πσ²)^(3/4)."""
    return (2 * np.pi * sigma**2) ** -1.5 * (np.pi * sigma**2) ** 0.75
