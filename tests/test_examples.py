"""The example scripts (``examples/*.py``) end to end in their ``--quick``
mode: exit status 0, the figure and the table written, and the physics each
one is about visible even on the reduced basis."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mslode

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_quick(script: str, output: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # the mslode being tested, wherever it was imported from
    env["PYTHONPATH"] = os.pathsep.join([str(Path(mslode.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--quick", "--output", str(output)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done


def read_rows(path: Path) -> list:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def check_png(path: Path) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000  # a drawn figure, not an empty canvas


@pytest.fixture(scope="module")
def multipole(tmp_path_factory):
    output = tmp_path_factory.mktemp("multipole")
    done = run_quick("multipole_extrapolation.py", output)
    return done, output


@pytest.fixture(scope="module")
def dimers(tmp_path_factory):
    output = tmp_path_factory.mktemp("dimers")
    done = run_quick("dimer_classes.py", output)
    return done, output


def test_multipole_extrapolation_writes_its_outputs(multipole):
    done, output = multipole
    check_png(output / "multipole_extrapolation.png")
    rows = read_rows(output / "multipole_extrapolation.csv")
    # ρ⊗ρ, then ρ⊗V for l_max = 0, 1, 2 and four choices of centres
    assert len(rows) == 1 + 3 * 4
    assert "Extrapolation error beyond R = 9.0 Å" in done.stdout


def test_multipole_extrapolation_physics(multipole):
    _, output = multipole
    rows = read_rows(output / "multipole_extrapolation.csv")
    error = {(r["features"], r["centres"], int(r["l_max"])): float(r["rmse_meV"]) for r in rows}
    local = next(r for r in rows if r["features"] == "ρ⊗ρ")
    # no atom of the other monomer within r_c: the local model predicts exactly zero
    assert float(local["max_abs_prediction_meV"]) == 0.0
    rho_rho = float(local["rmse_meV"])
    V = {key[1:]: value for key, value in error.items() if key[0] == "ρ⊗V"}
    # point charges on every atom: the all-atom model extrapolates from l_max = 0, the single-centre ones do not
    assert V["all atoms", 0] < 0.5 * rho_rho
    assert V["all atoms", 0] < 0.3 * V["C", 0]
    assert V["all atoms", 0] < 0.3 * V["O (water)", 0]
    # the water oxygen needs l = 1 (the water dipole), the carbon l = 2 (CO2 is centrosymmetric: no l = 1)
    assert V["O (water)", 1] < 0.5 * V["O (water)", 0]
    assert V["C", 2] < 0.3 * V["C", 0]
    assert V["C", 1] > 0.5 * V["C", 0]


def test_dimer_classes_writes_its_outputs(dimers):
    done, output = dimers
    check_png(output / "dimer_classes.png")
    rows = read_rows(output / "dimer_classes.csv")
    # ρ⊗ρ and ρ⊗V, a ridge and a committee each, six classes and all
    assert len(rows) == 2 * 2 * 7
    assert {r["dimer_class"] for r in rows} == {"CC", "CP", "CA", "PP", "PA", "AA", "all"}
    assert "Points held out along every curve" in done.stdout


def test_dimer_classes_physics(dimers):
    _, output = dimers
    rows = read_rows(output / "dimer_classes.csv")
    percent = {(r["model"], r["features"], r["dimer_class"]): float(r["rmse_percent"]) for r in rows}
    for model in ("ridge", "committee mean"):
        for c in ("CC", "CP", "CA", "PP", "PA", "AA", "all"):
            # the local model cannot represent the curves beyond r_c; multi-scale LODE can, in every class
            assert percent[model, "ρ⊗V", c] < percent[model, "ρ⊗ρ", c] / 3, (model, c)
        assert percent[model, "ρ⊗ρ", "all"] > 50.0
        assert percent[model, "ρ⊗V", "all"] < 5.0
    # the committee's calibrated spread is of the size of its errors on the test points
    rms_z = next(float(r["rms_z"]) for r in rows
                 if (r["model"], r["features"], r["dimer_class"]) == ("committee mean", "ρ⊗V", "all"))
    assert 0.3 < rms_z < 3.0


def test_water_on_lithium(tmp_path):
    """The periodic slab: ρ⊗V sees the slab beyond r_c, ρ⊗ρ does not."""
    done = run_quick("water_on_lithium.py", tmp_path)
    check_png(tmp_path / "water_on_lithium.png")
    rows = read_rows(tmp_path / "water_on_lithium.csv")
    energy = {r["features"]: float(r["rmse"]) for r in rows if r["target"] == "binding_energy"}
    dipole = {(r["features"], int(r["train_size"])): float(r["rmse_percent"]) for r in rows if r["target"] == "induced_dipole"}
    assert set(energy) == {"rho-rho", "rho-V"} and energy["rho-V"] < 0.5 * energy["rho-rho"]
    largest = max(n for _, n in dipole)
    assert dipole["rho-V", largest] < dipole["rho-rho", largest]
    assert "rho-V predicts the binding energy better" in done.stdout.splitlines()[-1]


def test_polarisability_chains(tmp_path):
    """Train short, test long: the local λ-SOAP model's α_∥ grows only
    linearly beyond the training lengths and falls far short at n = 16;
    the ρ⊗V model extrapolates with a smaller error."""
    done = run_quick("polarisability_chains.py", tmp_path)
    check_png(tmp_path / "polarisability_chains.png")
    rows = {int(r["n_units"]): r for r in read_rows(tmp_path / "polarisability_chains.csv")}
    assert sorted(rows) == list(range(6, 17))  # one row per test chain length
    assert done.stdout.strip().splitlines()[-1].startswith("longest chains (n = 16):")
    longest = rows[16]
    assert float(longest["lambda_soap_alpha_par"]) < 0.6 * float(longest["alpha_par_ref"])
    assert float(longest["lode_rmse"]) < float(longest["lambda_soap_rmse"])
