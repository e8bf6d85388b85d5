"""The ``mslode`` command end to end on small data: exit codes, files
written, predictions equal to the Python API's, one-line errors, and the
demo's numbers within the ranges its output claims."""

import subprocess
import sys
from importlib import resources

import ase.io
import numpy as np
import pytest

import mslode
from mslode import cli

SMALL = dict(cutoff="3.0", max_radial="3", max_angular="2")
HYPER_ARGS = ["--cutoff", "3.0", "--max-radial", "3", "--max-angular", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Six binding curves of the shipped H2O–CO2 set, every second point."""
    path = resources.files("mslode") / "data" / "h2o_co2_gfn2.xyz"
    with resources.as_file(path) as file:
        frames = ase.io.read(str(file), index=":")
    frames = [f for f in frames if f.info["orientation"] < 6][::2]
    out = tmp_path_factory.mktemp("cli") / "dimers.xyz"
    ase.io.write(out, frames, format="extxyz")
    return out, frames


def run(*argv):
    return subprocess.run([sys.executable, "-m", "mslode", *argv], capture_output=True, text=True)


def test_help_of_every_command():
    for command in ([], ["demo"], ["features"], ["fit"], ["predict"], ["learning-curve"]):
        done = run(*command, "--help")
        assert done.returncode == 0, done.stderr
        assert "usage: mslode" in done.stdout


def test_features(data, tmp_path):
    path, frames = data
    out = tmp_path / "f.npz"
    assert cli.main(["features", str(path), "--features", "rho-V", "rho-rho", "-o", str(out), *HYPER_ARGS]) == 0
    arrays = np.load(out)
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    expected = mslode.Invariants(rho, V).compute(frames)
    np.testing.assert_array_equal(arrays["rho_V/values"], expected.values)
    np.testing.assert_array_equal(arrays["rho_V/labels"], expected.labels)
    assert arrays["rho_rho/values"].shape[0] == sum(len(f) for f in frames)


def test_features_as_metatensor_files(data, tmp_path):
    metatensor = pytest.importorskip("metatensor")
    path, frames = data
    assert cli.main(["features", str(path), "--features", "rho-V", "-o", str(tmp_path / "f.mts"), *HYPER_ARGS]) == 0
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    expected = mslode.Invariants(rho, V).compute(frames).to_tensormap()
    assert metatensor.equal(metatensor.load(str(tmp_path / "f.mts")), expected)
    assert cli.main(["features", str(path), "--features", "rho-V", "V-V", "-o", str(tmp_path / "g.mts"), *HYPER_ARGS]) == 0
    assert (tmp_path / "g.rho_V.mts").is_file() and (tmp_path / "g.V_V.mts").is_file()


def test_fit_and_predict_equal_the_python_api(data, tmp_path, capsys):
    path, frames = data
    model_path, out = tmp_path / "m.mslode", tmp_path / "out.xyz"
    assert cli.main(["fit", str(path), "--target", "binding_energy", "--features", "rho-V", "--fragments",
                     "monomer_index", "--groups", "orientation", "-o", str(model_path), *HYPER_ARGS]) == 0
    printed = capsys.readouterr().out
    assert "validation RMSE" in printed and "%" in printed
    assert cli.main(["predict", str(model_path), str(path), "-o", str(out)]) == 0
    predicted = np.array([f.info["predicted"] for f in ase.io.read(out, index=":")])
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    model = mslode.Ridge(features=[mslode.Invariants(rho, V)], fragments="monomer_index")
    model.fit(frames, "binding_energy", groups="orientation")
    np.testing.assert_allclose(predicted, model.predict(frames), rtol=1e-10, atol=1e-12)


def test_a_vector_target_is_fitted_on_equivariants(data, tmp_path, capsys):
    path, frames = data
    model_path, out = tmp_path / "d.mslode", tmp_path / "d.xyz"
    assert cli.main(["fit", str(path), "--target", "dipole", "--features", "rho-V", "-o", str(model_path),
                     *HYPER_ARGS]) == 0
    assert "validation RMSE" in capsys.readouterr().out
    assert cli.main(["predict", str(model_path), str(path), "-o", str(out)]) == 0
    predicted = np.array([f.info["predicted"] for f in ase.io.read(out, index=":")])
    rho = mslode.DensityExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    V = mslode.PotentialExpansion(cutoff=3.0, gaussian_width=0.3, max_radial=3, max_angular=2)
    model = mslode.Ridge(features=[mslode.Equivariants(rho, V, lambda_=1)]).fit(frames, "dipole")
    assert predicted.shape == (len(frames), 3)
    np.testing.assert_allclose(predicted, model.predict(frames), rtol=1e-10, atol=1e-12)


def test_committee_writes_uncertainties(data, tmp_path):
    path, _ = data
    model_path, out = tmp_path / "c.mslode", tmp_path / "out.xyz"
    assert cli.main(["fit", str(path), "--target", "binding_energy", "--fragments", "monomer_index",
                     "--committee", "3", "-o", str(model_path), *HYPER_ARGS]) == 0
    assert cli.main(["predict", str(model_path), str(path), "-o", str(out), "--key", "E"]) == 0
    frames = ase.io.read(out, index=":")
    assert all(f.info["E_std"] >= 0.0 for f in frames)


def test_learning_curve(data, tmp_path):
    path, frames = data
    prefix = tmp_path / "lc"
    assert cli.main(["learning-curve", str(path), "--target", "binding_energy", "--fragments", "monomer_index",
                     "--sizes", "20", "40", "-o", str(prefix), *HYPER_ARGS]) == 0
    rows = (tmp_path / "lc.csv").read_text().splitlines()
    assert rows[0] == "train_size,rmse,rmse_percent" and len(rows) == 3
    assert (tmp_path / "lc.png").stat().st_size > 1000
    # default sizes are fractions of the pool left after holding out whole groups
    assert cli.main(["learning-curve", str(path), "--target", "binding_energy", "--fragments", "monomer_index",
                     "--groups", "orientation", "--cv", "2", "-o", str(prefix), *HYPER_ARGS]) == 0
    sizes = [int(row.split(",")[0]) for row in (tmp_path / "lc.csv").read_text().splitlines()[1:]]
    assert len(sizes) == 5 and sizes == sorted(sizes) and sizes[-1] < len(frames)


@pytest.mark.parametrize("argv, message", [
    (["features", "missing.xyz", "-o", "x.npz"], "missing.xyz: no such file"),
    (["features", "{data}", "--features", "rho-W", "-o", "x.npz"], "unknown field 'W'"),
    (["features", "{data}", "--features", "rho", "-o", "x.npz"], "give two fields joined by '-'"),
    (["fit", "{data}", "--target", "no_such_property", "-o", "m.mslode"], "no_such_property"),
    (["predict", "missing.mslode", "{data}", "-o", "o.xyz"], "missing.mslode: no such file"),
    (["predict", "{corrupt}", "{data}", "-o", "o.xyz"], "corrupt.mslode"),
    (["fit", "{data}", "-o", "m.mslode"], "the following arguments are required: --target"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_bad_input_is_one_line_and_exit_2(data, tmp_path, argv, message):
    corrupt = tmp_path / "corrupt.mslode"
    corrupt.write_bytes(b"not a model")
    argv = [a.format(data=data[0], corrupt=corrupt) for a in argv]
    argv = [str(tmp_path / a) if a.endswith((".npz", ".xyz", ".mslode")) and "/" not in a else a for a in argv]
    done = run(*argv)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mslode: error: "), done.stderr
    assert message in lines[0]


def test_demo_quick(tmp_path, capsys):
    """The demo's claim: beyond r_c ρ⊗ρ's error is the whole binding energy,
    ρ⊗V's several times smaller."""
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--quick", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = [line.split() for line in printed.splitlines() if line.strip().startswith(("4.0", "6.0", "≥"))]
    assert len(rows) == 3
    for row in rows:
        reference, local, lode = (float(x) for x in row[-3:])
        assert local == pytest.approx(reference, rel=0.05)
        assert lode < 0.5 * local, row
    assert out.stat().st_size > 1000
