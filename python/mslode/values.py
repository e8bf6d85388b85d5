"""What the calculators return: per-centre (or per-structure) rows of
coefficients or features, their labels, and which centre each row belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


def _metatensor():
    try:
        import metatensor
    except ImportError:
        raise ImportError("to_tensormap() needs metatensor: pip install metatensor-core") from None
    return metatensor


class _Rows:
    """Rows that belong to centres, or to (structure, central species) pairs
    when computed with ``reduce="structure"``."""

    values: np.ndarray
    structure: np.ndarray
    center_species: np.ndarray

    def _sample_blocks(self, metatensor) -> list:
        """(center_type, row indices, samples) for every central species, in
        increasing order: samples ``system, atom`` per centre, ``system`` for
        per-structure sums."""
        out = []
        for z in np.unique(self.center_species):
            rows = np.flatnonzero(self.center_species == z)
            if getattr(self, "reduced", None) == "structure":
                samples = metatensor.Labels(["system"], self.structure[rows, None].astype(np.int32))
            else:
                values = np.stack([self.structure[rows], self.center[rows]], axis=1).astype(np.int32)
                samples = metatensor.Labels(["system", "atom"], values)
            out.append((int(z), rows, samples))
        return out

    def _tensormap(self, key_names: list, blocks: list):
        """A TensorMap of ``blocks``: (key values, samples, components, properties, values)."""
        metatensor = _metatensor()
        keys = metatensor.Labels(key_names, np.asarray([b[0] for b in blocks], dtype=np.int32).reshape(len(blocks), -1))
        tensor_blocks = [
            metatensor.TensorBlock(
                values=np.ascontiguousarray(values, dtype=np.float64), samples=samples, components=components,
                properties=properties,
            )
            for _, samples, components, properties, values in blocks
        ]
        return metatensor.TensorMap(keys, tensor_blocks)

    def block(self, center_species: int) -> np.ndarray:
        """The rows of centres of one species: (n_centres of that species, ...),
        or (n_structures, ...) for per-structure sums."""
        rows = self.center_species == center_species
        if not rows.any():
            raise ValueError(
                f"no centre of species {center_species}; the centres here are of species "
                f"{sorted({int(z) for z in np.unique(self.center_species)})}"
            )
        return self.values[rows]


@dataclass(frozen=True)
class ExpansionValues(_Rows):
    """Coefficients ⟨a n l m|F_i⟩ of one expansion, one row per centre.

    Attributes
    ----------
    values : ndarray, shape (n_centers, n_species, n_max, (l_max+1)**2)
        Coefficients, n_max = ``max_radial`` and l_max = ``max_angular``;
        the last index is ``l*l + l + m``.
    structure : ndarray of int, (n_centers,)
        Index of each centre's structure in the input.
    center : ndarray of int, (n_centers,)
        Index of each centre within its structure.
    center_species : ndarray of int, (n_centers,)
        Atomic number of each centre.
    species : ndarray of int, (n_species,)
        Atomic numbers of the neighbour-species channels.
    """

    values: np.ndarray
    structure: np.ndarray
    center: np.ndarray
    center_species: np.ndarray
    species: np.ndarray

    def invariants(self) -> tuple[np.ndarray, np.ndarray]:
        """The ν = 1 invariants: the l = 0 coefficients ⟨a n 0 0|F_i⟩.

        Returns
        -------
        values : ndarray, (n_centers, n_species * max_radial)
        labels : ndarray of int, (n_species * max_radial, 2)
            Columns ``species, n``.
        """
        n_species, max_radial = self.values.shape[1:3]
        values = np.ascontiguousarray(self.values[:, :, :, 0].reshape(len(self.values), -1))
        labels = np.stack(
            [np.repeat(self.species, max_radial), np.tile(np.arange(max_radial), n_species)], axis=1
        ).astype(np.int32)
        return values, labels

    def to_tensormap(self):
        """The coefficients as a ``metatensor.TensorMap`` (needs metatensor).

        Keys ``o3_lambda, o3_sigma, center_type, neighbor_type`` (o3_sigma
        = 1), samples ``system, atom``, one component ``o3_mu`` (−l … l),
        properties ``n``: the layout of featomic's spherical expansions.
        Every block holds every centre of its type (zeros for a centre
        without neighbours of that type); the values are this object's, in
        the conventions of ``docs/conventions.md``.
        """
        metatensor = _metatensor()
        n_species, max_radial, n_lm = self.values.shape[1:]
        max_angular = int(round(np.sqrt(n_lm))) - 1
        properties = metatensor.Labels(["n"], np.arange(max_radial, dtype=np.int32)[:, None])
        blocks = []
        for l in range(max_angular + 1):
            components = [metatensor.Labels(["o3_mu"], np.arange(-l, l + 1, dtype=np.int32)[:, None])]
            for z, rows, samples in self._sample_blocks(metatensor):
                for a, neighbour in enumerate(self.species):
                    values = self.values[rows, a, :, l * l:(l + 1) ** 2].transpose(0, 2, 1)
                    blocks.append(((l, 1, z, int(neighbour)), samples, components, properties, values))
        return self._tensormap(["o3_lambda", "o3_sigma", "center_type", "neighbor_type"], blocks)


def _pair_blocks(rows_values: np.ndarray, labels: np.ndarray, names: tuple, symmetric: bool) -> list:
    """Columns grouped by neighbour-species pair: [(pair, properties, columns)]
    with properties (l, n_1, n_2, …) sorted; a symmetric set's same-species
    pairs expanded to every (n_1, n_2) with the √2 of the off-diagonal
    entries taken back (so that, as in featomic, a block with two neighbour
    types carries the √2 and dot products over all blocks are the full set's)."""
    names = list(names)
    s1, s2 = names.index("species_1"), names.index("species_2")
    n1, n2, l = names.index("n_1"), names.index("n_2"), names.index("l")
    extra = [k for k, name in enumerate(names) if name not in ("species_1", "species_2", "n_1", "n_2", "l")]
    property_columns = [l, n1, n2] + extra
    out = []
    for pair in sorted({(int(a), int(b)) for a, b in labels[:, [s1, s2]]}):
        columns = np.flatnonzero((labels[:, s1] == pair[0]) & (labels[:, s2] == pair[1]))
        properties = labels[columns][:, property_columns]
        values = rows_values[:, columns]
        if symmetric and pair[0] == pair[1]:
            off = properties[:, 1] != properties[:, 2]
            mirrored = properties[off].copy()
            mirrored[:, [1, 2]] = mirrored[:, [2, 1]]
            values = np.concatenate([np.where(off, values / np.sqrt(2.0), values), values[:, off] / np.sqrt(2.0)], axis=1)
            properties = np.concatenate([properties, mirrored])
        order = np.lexsort(properties.T[::-1])
        out.append((pair, properties[order], values[:, order], [names[k] for k in property_columns]))
    return out


@dataclass(frozen=True)
class InvariantValues(_Rows):
    """Invariant features ⟨a1 n1; a2 n2; l|F⊗G⟩, one row per centre.

    Attributes
    ----------
    values : ndarray, shape (n_rows, n_features)
    labels : ndarray of int, (n_features, 5)
        Columns ``species_1, n_1, species_2, n_2, l`` (atomic numbers for the
        species).
    label_names : tuple of str
    structure, center, center_species : ndarray of int, (n_rows,)
        As in :class:`ExpansionValues`. With ``reduce="structure"`` a row is
        the sum over the centres of one species in one structure: one row
        per (structure, central species), structure-major, ``center`` = -1,
        zeros where a structure has no centre of that species.
    reduced : str or None
        ``"structure"`` for per-structure sums, None for one row per centre.
    symmetric : bool
        True when only (a1, n1) <= (a2, n2) is kept, off-diagonal entries
        scaled by √2 (dot products between rows equal the full set's).
    exponents : tuple of int, or None
        The potential exponent p of F and of G, 0 for the density ρ (as
        featomic's SmearedPowerLaw, whose exponent 0 is the Gaussian density):
        (0, 1) for ρ⊗V, (0, 6) for ρ⊗V_6, (1, 1) for V⊗V. None for a
        :func:`concatenate` of several pairs, whose labels then carry the
        exponents of every column.
    """

    values: np.ndarray
    labels: np.ndarray
    structure: np.ndarray
    center: np.ndarray
    center_species: np.ndarray
    symmetric: bool
    label_names: tuple = ("species_1", "n_1", "species_2", "n_2", "l")
    exponents: Optional[tuple] = (0, 0)
    reduced: Optional[str] = None

    def to_tensormap(self):
        """The features as a ``metatensor.TensorMap`` (needs metatensor).

        Keys ``center_type, neighbor_1_type, neighbor_2_type``, samples
        ``system, atom`` (``system`` for per-structure sums), properties
        ``l, n_1, n_2`` (then ``exponent_1, exponent_2`` for a
        :func:`concatenate`): the layout of featomic's SOAP power spectrum.
        For ρ⊗ρ (``symmetric``) only neighbor_1_type ≤ neighbor_2_type
        appear; a block of one neighbour type has every (n_1, n_2), each the
        plain (2l+1)^(-1/2) Σ_m c c, and a block of two types carries the
        √2 of the symmetric set, so that dot products over all blocks equal
        those of ``values``. For F⊗G with F ≠ G every ordered pair of
        neighbour types is a key. Every block holds every centre of its
        type (zeros where a centre sees neither type).
        """
        metatensor = _metatensor()
        labels = np.asarray(self.labels)
        blocks = []
        for z, rows, samples in self._sample_blocks(metatensor):
            for pair, properties, values, names in _pair_blocks(self.values[rows], labels, self.label_names, self.symmetric):
                blocks.append(((z,) + pair, samples, [], metatensor.Labels(names, properties.astype(np.int32)), values))
        return self._tensormap(["center_type", "neighbor_1_type", "neighbor_2_type"], blocks)


@dataclass(frozen=True)
class EquivariantValues(_Rows):
    """Equivariant features ⟨a1 n1 l1; a2 n2 l2; λ μ|F⊗G⟩ of order λ and
    parity σ, or the ν = 1 coefficients ⟨a n λ μ|F⟩ of one expansion.

    Attributes
    ----------
    values : ndarray, shape (n_rows, 2λ+1, n_features)
        Component μ = -λ … λ along the second axis: under a rotation R of the
        structure each row turns into D^λ(R) times itself (real Wigner matrix
        of the real harmonics), under inversion into (-1)^λ σ times itself.
    labels : ndarray of int, (n_features, 6), or (n_features, 2) for ν = 1
        Columns ``species_1, n_1, l_1, species_2, n_2, l_2`` (``species, n``
        for ν = 1), atomic numbers for the species.
    label_names : tuple of str
    lambda_ : int
    parity : int
        σ = +1 (polar: dipoles, polarisabilities) or -1 (pseudotensors).
    structure, center, center_species : ndarray of int, (n_rows,)
        As in :class:`InvariantValues`, including per-structure sums.
    exponents : tuple of int
        Potential exponent of each field, 0 for the density (one entry for ν = 1).
    reduced : str or None
        As in :class:`InvariantValues`.
    """

    values: np.ndarray
    labels: np.ndarray
    structure: np.ndarray
    center: np.ndarray
    center_species: np.ndarray
    lambda_: int
    parity: int
    label_names: tuple = ("species_1", "n_1", "l_1", "species_2", "n_2", "l_2")
    exponents: tuple = (0, 0)
    reduced: Optional[str] = None

    def to_tensormap(self):
        """The features as a ``metatensor.TensorMap`` (needs metatensor).

        Keys ``o3_lambda, o3_sigma, center_type, neighbor_1_type,
        neighbor_2_type`` (``neighbor_type`` for the ν = 1 coefficients of
        one expansion), samples ``system, atom`` (``system`` for
        per-structure sums), one component ``o3_mu``, properties ``l_1,
        l_2, n_1, n_2`` (``n`` for ν = 1). The columns are this object's,
        not re-weighted.
        """
        metatensor = _metatensor()
        labels = np.asarray(self.labels)
        names = list(self.label_names)
        lam = self.lambda_
        components = [metatensor.Labels(["o3_mu"], np.arange(-lam, lam + 1, dtype=np.int32)[:, None])]
        one = labels.shape[1] == 2
        pairs = labels[:, [0]] if one else labels[:, [names.index("species_1"), names.index("species_2")]]
        property_names = ["n"] if one else ["l_1", "l_2", "n_1", "n_2"]
        property_columns = [names.index(n) for n in property_names]
        blocks = []
        for z, rows, samples in self._sample_blocks(metatensor):
            for pair in sorted({tuple(int(v) for v in p) for p in pairs}):
                columns = np.flatnonzero((pairs == np.asarray(pair)).all(axis=1))
                properties = labels[columns][:, property_columns]
                order = np.lexsort(properties.T[::-1])
                values = self.values[rows][:, :, columns[order]]
                key = (lam, self.parity, z) + pair
                blocks.append((key, samples, components,
                               metatensor.Labels(property_names, properties[order].astype(np.int32)), values))
        key_names = ["o3_lambda", "o3_sigma", "center_type"] + (["neighbor_type"] if one else ["neighbor_1_type", "neighbor_2_type"])
        return self._tensormap(key_names, blocks)


#: Label columns of :func:`concatenate`.
CONCATENATED_LABEL_NAMES = ("species_1", "n_1", "species_2", "n_2", "l", "exponent_1", "exponent_2")


def concatenate(*blocks: InvariantValues) -> InvariantValues:
    """Invariants of several field pairs side by side, e.g. ρ⊗V with p = 1
    and p = 6 in one model (dispersion-like features next to Coulomb)::

        rho_V1 = mslode.Invariants(rho, V1).compute(frames)
        rho_V6 = mslode.Invariants(rho, V6).compute(frames)
        both = mslode.concatenate(rho_V1, rho_V6)

    The values are stacked column-wise and every column keeps its label with
    two more entries, ``exponent_1`` and ``exponent_2``: the potential
    exponent p of each field, 0 for the density ρ. So ``both.labels`` has the
    columns ``species_1, n_1, species_2, n_2, l, exponent_1, exponent_2``
    (``both.label_names``), and the ρ⊗V_6 block is
    ``both.values[:, both.labels[:, 6] == 6]``. Concatenations can be
    concatenated again.

    Parameters
    ----------
    *blocks : InvariantValues
        Computed on the same frames with the same centres (same
        ``center_species``); each pair of fields at most once.

    Returns
    -------
    InvariantValues
        ``symmetric`` is True only if every block is; ``exponents`` is the
        common pair of exponents if all blocks share it, else None.
    """
    if len(blocks) == 0:
        raise ValueError("concatenate needs at least one InvariantValues")
    for index, block in enumerate(blocks):
        if not isinstance(block, InvariantValues):
            raise TypeError(f"block {index} is a {type(block).__name__}, not InvariantValues")
    first = blocks[0]
    labels = []
    for index, block in enumerate(blocks):
        for name in ("structure", "center", "center_species"):
            if not np.array_equal(getattr(block, name), getattr(first, name)):
                raise ValueError(
                    f"block {index} has other centres than block 0 ({name} differs): compute every block "
                    "on the same frames with the same center_species"
                )
        if tuple(block.label_names) == CONCATENATED_LABEL_NAMES:
            labels.append(np.asarray(block.labels, dtype=np.int32))
        else:
            if block.exponents is None:
                raise ValueError(f"block {index} does not say which exponents its columns come from")
            extra = np.broadcast_to(np.asarray(block.exponents, dtype=np.int32), (len(block.labels), 2))
            labels.append(np.concatenate([np.asarray(block.labels, dtype=np.int32), extra], axis=1))
    labels = np.concatenate(labels, axis=0)
    if len(np.unique(labels, axis=0)) != len(labels):
        raise ValueError("the same features appear twice: concatenate each pair of fields once")
    exponents = {block.exponents for block in blocks}
    return InvariantValues(
        values=np.concatenate([block.values for block in blocks], axis=1),
        labels=labels,
        structure=first.structure,
        center=first.center,
        center_species=first.center_species,
        symmetric=all(block.symmetric for block in blocks),
        label_names=CONCATENATED_LABEL_NAMES,
        exponents=exponents.pop() if len(exponents) == 1 else None,
    )


@dataclass(frozen=True)
class Gradients:
    """A vector–Jacobian product of a calculator's output: for cotangents t
    shaped like its rows, the gradient of Σ t · values with respect to the
    atom positions and to a homogeneous strain (``docs/forces.md``).

    Attributes
    ----------
    positions : ndarray, (n_atoms, 3)
        ∂/∂r_j of every atom of every structure, the structures one after
        the other (``offsets``).
    strain : ndarray, (n_structures, 3, 3)
        ∂/∂ε_αβ for positions and cell both scaled by 1 + ε (the stress of
        an energy times the cell's volume); for a finite structure the
        same sum Σ_pairs g_α r_β, whose symmetric part is zero when the
        output is rotation invariant.
    offsets : ndarray of int, (n_structures + 1,)
        Structure s owns rows ``offsets[s]:offsets[s + 1]`` of ``positions``.
    """

    positions: np.ndarray
    strain: np.ndarray
    offsets: np.ndarray

    def structure(self, index: int) -> np.ndarray:
        """The (n_atoms, 3) position gradient of structure ``index``."""
        return self.positions[self.offsets[index] : self.offsets[index + 1]]

    def __add__(self, other: "Gradients") -> "Gradients":
        if not np.array_equal(self.offsets, other.offsets):
            raise ValueError("gradients of different structures cannot be added")
        return Gradients(self.positions + other.positions, self.strain + other.strain, self.offsets)
