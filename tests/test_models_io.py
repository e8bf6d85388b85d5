"""Saved models: a round trip predicts bit for bit; the file is an npz with a
JSON header readable without pickle; corrupt and foreign files are refused
with a ValueError that names the file and the problem."""

from __future__ import annotations

import io
import json
import zipfile

import ase
import numpy as np
import pytest

import mslode

pytest.importorskip("sklearn")
from sklearn.model_selection import GroupKFold  # noqa: E402

from mslode.io import FORMAT_VERSION, HEADER_KEY  # noqa: E402

GRID = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.5


def random_frames(n, seed):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        m = int(rng.integers(3, 7))
        sites = rng.choice(len(GRID), m, replace=False)
        frame = ase.Atoms(numbers=rng.choice([1, 6, 8], m), positions=GRID[sites] + rng.normal(0, 0.15, (m, 3)))
        frame.arrays["fragment"] = (np.arange(m) >= m // 2).astype(int)
        frames.append(frame)
    return frames


RHO = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1)
V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.4, max_radial=2, max_angular=1, potential_exponent=1)
TRAIN, TEST = random_frames(60, 1), random_frames(15, 2)
Y = np.array([np.sum(1.0 / f.get_all_distances()[np.triu_indices(len(f), 1)]) for f in TRAIN])


def models():
    return {
        "ridge": mslode.Ridge([mslode.Invariants(RHO, RHO), mslode.Invariants(RHO, V)], cv=GroupKFold(3)).fit(
            TRAIN, Y, groups=np.arange(60) % 7),
        "ridge-fragments": mslode.Ridge([mslode.Invariants(RHO, V)], fragments="fragment", fit_intercept=True,
                                        center_species=[6, 8]).fit(TRAIN, Y),
        "ridge-per-atom": mslode.Ridge([RHO], per_atom=True, alphas=1e-3).fit(TRAIN, np.concatenate([f.numbers for f in TRAIN]) * 1.0),
        "krr": mslode.SparseKernelRidge([mslode.Invariants(RHO, RHO), mslode.Invariants(RHO, V)], zeta=[2, 1],
                                        n_active=15, kernel_weights="cv", alphas=[1e-4, 1e-2]).fit(TRAIN, Y),
        "committee": mslode.Committee(mslode.Ridge([mslode.Invariants(RHO, V)]), n_members=6, subsample=0.5,
                                      random_state=3).fit(TRAIN, Y),
    }


MODELS = models()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_predicts_bit_for_bit(name, tmp_path):
    model = MODELS[name]
    path = tmp_path / "model.mslode"
    model.save(path)
    assert path.exists() and not (tmp_path / "model.mslode.npz").exists()
    loaded = mslode.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    if name == "committee":
        mean, std = model.predict(TEST, return_std=True)
        mean2, std2 = loaded.predict(TEST, return_std=True)
        np.testing.assert_array_equal(mean2, mean)
        np.testing.assert_array_equal(std2, std)
        assert loaded.calibration_factor_ == model.calibration_factor_
    else:
        np.testing.assert_array_equal(loaded.predict(TEST), model.predict(TEST))
        assert loaded.calculators_ == model.calculators_ and loaded.species_ == model.species_
        assert loaded.alpha_ == model.alpha_
    # a loaded model saves the same file again
    loaded.save(tmp_path / "again.mslode")
    assert _header(tmp_path / "again.mslode") == _header(path)


def _header(path):
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(bytes(archive[HEADER_KEY]).decode())


def test_the_header_documents_the_model(tmp_path):
    path = tmp_path / "m.mslode"
    MODELS["ridge"].save(path)
    header = _header(path)
    assert header["format"] == "mslode-model" and header["format_version"] == FORMAT_VERSION
    assert header["mslode_version"] == mslode.__version__ and header["estimator"] == "Ridge"
    first = header["params"]["features"][0]
    assert first["class"] == "Invariants"
    assert first["params"]["first"]["class"] == "DensityExpansion"
    assert first["params"]["second"] == {"same_as": "first"}  # one expansion, as Invariants(rho, rho)
    assert first["params"]["first"]["params"] == json.loads(json.dumps(RHO.get_params(deep=False)))
    splitter = header["params"]["cv"]["__splitter__"]
    assert splitter["class"] == "GroupKFold" and splitter["params"]["n_splits"] == 3
    fitted = header["fitted"]
    assert fitted["species"] == [1, 6, 8]
    assert fitted["calculators"][1]["params"]["second"]["params"]["species"] == [1, 6, 8]  # fixed at fit time
    assert set(header["arrays"]) == {"coef", "baseline", "cv_rmse", "scale"}
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["coef"], MODELS["ridge"].coef_)


def test_unfitted_or_unsaveable_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        mslode.Ridge([RHO]).save(tmp_path / "x.mslode")
    model = mslode.Ridge([RHO], alphas=1e-3, random_state=np.random.default_rng(0)).fit(TRAIN, Y)
    with pytest.raises(TypeError, match="cannot save a Generator"):
        model.save(tmp_path / "x.mslode")


def _rewrite(source, target, change):
    """Copy an archive entry by entry, letting ``change(name, array)`` alter
    (return an array), drop (return None) or keep entries; ``change`` may add
    entries under the key "__add__"."""
    with np.load(source, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    out = {}
    for name, array in entries.items():
        new = change(name, array)
        if new is not None:
            out[name] = new
    out.update(change("__add__", None) or {})
    with open(target, "wb") as handle:
        np.savez(handle, **out)


def _header_bytes(header):
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


@pytest.fixture()
def saved(tmp_path):
    path = tmp_path / "good.mslode"
    MODELS["krr"].save(path)
    return path


def test_corrupt_and_foreign_files_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    bad = tmp_path / "bad.mslode"
    header = _header(saved)

    def check(match):
        with pytest.raises(ValueError, match=rf"bad\.mslode: .*{match}"):
            mslode.load(bad)

    bad.write_bytes(data[: len(data) // 2])
    check("not an mslode model file|corrupt")
    flipped = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("coef.npy")
    flipped[info.header_offset + 30 + len(info.filename) + 40] ^= 0xFF  # inside the compressed coef
    bad.write_bytes(bytes(flipped))
    check("corrupt model file|not an mslode")
    bad.write_text("energy 1.0\n")
    check("not an mslode model file")
    np.save(open(bad, "wb"), np.arange(3))
    check("bare .npy")
    with open(bad, "wb") as handle:
        np.savez(handle, coef=np.arange(3.0))
    check(f"no {HEADER_KEY} entry")
    _rewrite(saved, bad, lambda n, a: np.frombuffer(b"{not json", dtype=np.uint8) if n == HEADER_KEY else a)
    check("header does not parse")
    _rewrite(saved, bad, lambda n, a: _header_bytes({**header, "format": "other"}) if n == HEADER_KEY else a)
    check("format 'other'")
    _rewrite(saved, bad, lambda n, a: _header_bytes({**header, "format_version": FORMAT_VERSION + 1}) if n == HEADER_KEY else a)
    check(f"format version {FORMAT_VERSION + 1}.*upgrade")
    _rewrite(saved, bad, lambda n, a: a * 2 if n == "coef" else a)
    check("'coef' does not match its checksum")
    _rewrite(saved, bad, lambda n, a: a[:-1] if n == "coef" else a)
    check(r"array 'coef' is <f8 \[\d+\]")
    _rewrite(saved, bad, lambda n, a: None if n == "kernel_weights" else a)
    check("'kernel_weights' is missing")
    _rewrite(saved, bad, lambda n, a: {"extra": np.zeros(2)} if n == "__add__" else a)
    check(r"\['extra'\] are not in the header")
    _rewrite(saved, bad, lambda n, a: _header_bytes({**header, "estimator": "Lasso"}) if n == HEADER_KEY else a)
    check("unknown estimator 'Lasso'")
    weird = json.loads(json.dumps(header))
    weird["params"]["features"][0]["class"] = "os.system"
    _rewrite(saved, bad, lambda n, a: _header_bytes(weird) if n == HEADER_KEY else a)
    check("unknown calculator class 'os.system'")
    del weird["fitted"]
    _rewrite(saved, bad, lambda n, a: _header_bytes(weird) if n == HEADER_KEY else a)
    check("the header has no 'fitted'")
    with pytest.raises(ValueError, match=r"missing\.mslode: cannot read the file"):
        mslode.load(tmp_path / "missing.mslode")
    # the good file still loads
    mslode.load(saved)
