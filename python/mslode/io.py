"""Reading targets from structures, and saved models (``docs/models.md``,
"Saved models").

Targets and labels are read from ``atoms.info`` (per structure) or
``atoms.arrays`` (per atom), and from the results of an attached calculator:
ASE ≥ 3.23 moves ``energy``, ``forces``, ``stress``, ... of extxyz files
into a ``SinglePointCalculator``, so ``energy`` is
``atoms.get_potential_energy()`` when it is not in ``info``.

A saved model is one ``.npz`` archive (never pickled): a JSON header
(format name and version, library version, the estimator's class and
hyper-parameters, every calculator as its class name and
``get_params(deep=False)``, the fitted species and scalars, and the name,
shape, dtype and SHA-256 of every array) plus the fitted arrays.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io as _io
import json
import numbers
import os
import zipfile
from typing import Any, Optional, Union

import numpy as np

try:
    import ase
except ImportError as error:  # pragma: no cover
    raise ImportError("mslode needs ASE: pip install ase") from error

#: Name of the format, written in every header.
FORMAT_NAME = "mslode-model"
#: Version of the saved-model format this library writes (and the newest it reads).
FORMAT_VERSION = 1
#: Name of the header entry inside the archive.
HEADER_KEY = "__header__"

PathLike = Union[str, "os.PathLike[str]"]

_ENERGY_KEYS = ("energy", "free_energy")


# -- reading targets and labels --------------------------------------------

def _as_frames(frames: Any) -> list:
    if isinstance(frames, ase.Atoms):
        return [frames]
    if isinstance(frames, (str, bytes)) or not hasattr(frames, "__iter__"):
        raise TypeError(f"frames must be an ase.Atoms or a list of them, got {type(frames).__name__}")
    frames = list(frames)
    for index, frame in enumerate(frames):
        if not isinstance(frame, ase.Atoms):
            raise TypeError(f"structure {index} is a {type(frame).__name__}, not an ase.Atoms")
    return frames


def _calculator_result(frame: "ase.Atoms", key: str) -> Optional[Any]:
    calc = getattr(frame, "calc", None)
    if calc is None:
        return None
    if key in _ENERGY_KEYS:
        try:
            return frame.get_potential_energy(force_consistent=(key == "free_energy"))
        except Exception:  # a calculator that cannot give it: fall through to "not found"
            return None
    results = getattr(calc, "results", {}) or {}
    return results.get(key)


def _available(frame: "ase.Atoms", per_atom: bool) -> str:
    keys = sorted(k for k in (frame.arrays if per_atom else frame.info) if k not in ("numbers", "positions"))
    calc = getattr(frame, "calc", None)
    results = sorted(getattr(calc, "results", {}) or {}) if calc is not None else []
    where = "atoms.arrays" if per_atom else "atoms.info"
    return f"{where} has {keys or 'nothing'}" + (f", atoms.calc.results has {results}" if calc is not None else "")


def read_property(frames: Any, key: str, *, per_atom: bool = False) -> np.ndarray:
    """One property of every structure, by name.

    Parameters
    ----------
    frames : ase.Atoms or list of ase.Atoms
    key : str
        Per structure: looked up in ``atoms.info``, then in the results of
        ``atoms.calc`` (``energy`` through ``atoms.get_potential_energy()``).
        Per atom: ``atoms.arrays``, then ``atoms.calc.results``.
    per_atom : bool
        Read a per-atom property; the result concatenates the atoms of all
        structures.

    Returns
    -------
    ndarray
        (n_structures, ...) or, per atom, (n_atoms_total, ...), float64 when
        the values are numbers.

    Raises
    ------
    ValueError
        A structure lacks the key (the message names it and lists what it
        has), or the values have different shapes.
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    frames = _as_frames(frames)
    values = []
    for index, frame in enumerate(frames):
        if per_atom:
            value = frame.arrays.get(key)
            if value is None and key not in ("numbers", "positions"):
                value = _calculator_result(frame, key)
            if value is not None and len(np.asarray(value)) != len(frame):
                raise ValueError(
                    f"structure {index}: per-atom property {key!r} has {len(np.asarray(value))} rows for "
                    f"{len(frame)} atoms"
                )
        else:
            value = frame.info.get(key)
            if value is None:
                value = _calculator_result(frame, key)
        if value is None:
            raise ValueError(f"structure {index} has no {'per-atom ' if per_atom else ''}property {key!r}: "
                             f"{_available(frame, per_atom)}")
        values.append(np.asarray(value))
    shapes = {v.shape[1:] if per_atom else v.shape for v in values}
    if len(shapes) > 1:
        raise ValueError(f"property {key!r} has different shapes in different structures: {sorted(shapes)}")
    out = np.concatenate(values) if per_atom else np.stack(values)
    if out.dtype.kind in "biuf":
        out = out.astype(np.float64)
    return out


def read_labels(frames: Any, key: str, *, per_atom: bool = False) -> np.ndarray:
    """Labels (groups, fragment indices) by name: as :func:`read_property`,
    but kept as they are (ints, strings) and one value per structure / atom."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    frames = _as_frames(frames)
    values = []
    for index, frame in enumerate(frames):
        store = frame.arrays if per_atom else frame.info
        if key not in store:
            raise ValueError(f"structure {index} has no {'per-atom ' if per_atom else ''}label {key!r}: "
                             f"{_available(frame, per_atom)}")
        value = np.asarray(store[key])
        if (per_atom and value.shape != (len(frame),)) or (not per_atom and value.ndim != 0):
            raise ValueError(
                f"structure {index}: label {key!r} must be one value per {'atom' if per_atom else 'structure'}, "
                f"got shape {value.shape}"
            )
        values.append(value)
    return np.concatenate(values) if per_atom else np.stack(values)


# -- calculators and hyper-parameters as JSON -----------------------------

def _calculator_classes() -> dict:
    """The calculator classes a saved model may name (nothing else is ever
    instantiated from a file)."""
    import mslode

    names = ("DensityExpansion", "PotentialExpansion", "Invariants", "Equivariants")
    return {name: getattr(mslode, name) for name in names if hasattr(mslode, name)}


def _is_calculator(value: Any) -> bool:
    return type(value).__name__ in _calculator_classes() and hasattr(value, "get_params")


def calculator_to_json(calculator: Any) -> dict:
    """``{"class": name, "params": get_params(deep=False)}``, nested
    calculators (Invariants' first and second) as nested dicts; when the
    second expansion is the first one, ``{"same_as": "first"}``."""
    if not _is_calculator(calculator):
        raise TypeError(f"cannot save a {type(calculator).__name__} as a calculator")
    params = {}
    own = calculator.get_params(deep=False)
    for name, value in own.items():
        if _is_calculator(value):
            earlier = next((n for n in params if own[n] is value), None)
            params[name] = {"same_as": earlier} if earlier else calculator_to_json(value)
        else:
            params[name] = _jsonable(value, f"{type(calculator).__name__}.{name}")
    return {"class": type(calculator).__name__, "params": params}


def calculator_from_json(data: Any, where: str = "calculator") -> Any:
    """The calculator written by :func:`calculator_to_json`."""
    classes = _calculator_classes()
    if not isinstance(data, dict) or "class" not in data or "params" not in data:
        raise ValueError(f"{where}: not a calculator description")
    cls = classes.get(data["class"])
    if cls is None:
        raise ValueError(f"{where}: unknown calculator class {data['class']!r} (known: {sorted(classes)})")
    params: dict = {}
    for name, value in data["params"].items():
        if isinstance(value, dict) and "same_as" in value:
            params[name] = params[value["same_as"]]
        elif isinstance(value, dict) and "class" in value:
            params[name] = calculator_from_json(value, f"{where}.{name}")
        else:
            params[name] = value
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: cannot rebuild {data['class']}: {error}") from None


def _jsonable(value: Any, where: str) -> Any:
    """Hyper-parameter values as JSON: numbers, strings, None, lists, dicts."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if type(value).__module__.startswith("sklearn.model_selection"):
        return {"__splitter__": _splitter_to_json(value, where)}
    raise TypeError(f"{where}: cannot save a {type(value).__name__} ({value!r}) in a model file")


def _from_jsonable(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_from_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        if "__splitter__" in value:
            return _splitter_from_json(value["__splitter__"], where)
        return {k: _from_jsonable(v, where) for k, v in value.items()}
    return value


def _splitter_to_json(splitter: Any, where: str) -> dict:
    """A scikit-learn splitter (KFold, GroupKFold, ...) as its class and the
    arguments of its constructor (which it keeps as attributes)."""
    params = {}
    for name in inspect.signature(type(splitter).__init__).parameters:
        if name == "self":
            continue
        value = getattr(splitter, name, None)
        if value is not None and not isinstance(value, (bool, numbers.Number, str)):
            raise TypeError(f"{where}: cannot save {type(splitter).__name__}({name}={value!r}); use an int seed")
        params[name] = _jsonable(value, where)
    return {"class": type(splitter).__name__, "params": params}


def _splitter_from_json(data: dict, where: str) -> Any:
    module = importlib.import_module("sklearn.model_selection")
    cls = getattr(module, str(data.get("class")), None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"{where}: unknown splitter {data.get('class')!r}")
    return cls(**data["params"])


def params_to_json(params: dict, where: str) -> dict:
    """An estimator's ``get_params(deep=False)`` as JSON (calculators and
    splitters tagged, arrays as lists)."""
    out = {}
    for name, value in params.items():
        if name == "features":
            out[name] = [calculator_to_json(c) for c in value]
        elif hasattr(value, "get_params") and hasattr(value, "_saved_state"):
            out[name] = {"__estimator__": type(value).__name__, "params": params_to_json(value.get_params(deep=False), f"{where}.{name}")}
        else:
            out[name] = _jsonable(value, f"{where}.{name}")
    return out


def params_from_json(data: dict, where: str) -> dict:
    out = {}
    for name, value in data.items():
        if name == "features":
            out[name] = [calculator_from_json(c, f"{where}.features[{k}]") for k, c in enumerate(value)]
        elif isinstance(value, dict) and "__estimator__" in value:
            out[name] = _estimator_class(value["__estimator__"], where)(**params_from_json(value["params"], where))
        else:
            out[name] = _from_jsonable(value, f"{where}.{name}")
    return out


def _estimator_class(name: str, where: str) -> type:
    from . import models

    cls = {"Ridge": models.Ridge, "SparseKernelRidge": models.SparseKernelRidge, "Committee": models.Committee}.get(name)
    if cls is None:
        raise ValueError(f"{where}: unknown estimator {name!r}")
    return cls


# -- files -----------------------------------------------------------------

def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def save_model(model: Any, path: PathLike) -> None:
    """Write a fitted estimator (``Ridge``, ``SparseKernelRidge``,
    ``Committee``) to ``path`` (any name; ``.mslode`` is customary).

    Parameters
    ----------
    model : fitted estimator
    path : str or path-like
    """
    if not hasattr(model, "_saved_state"):
        raise TypeError(f"cannot save a {type(model).__name__}: not an mslode model")
    import mslode

    fitted, arrays = model._saved_state()
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mslode_version": mslode.__version__,
        "estimator": type(model).__name__,
        "params": params_to_json(model.get_params(deep=False), type(model).__name__),
        "fitted": fitted,
        "arrays": {},
    }
    clean = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"array {name!r} has dtype {array.dtype}: only numbers are saved")
        clean[name] = array
        header["arrays"][name] = {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": _digest(array)}
    text = json.dumps(header, sort_keys=True, allow_nan=False)
    clean[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as handle:  # a file object: numpy would add ".npz" to a name
        np.savez_compressed(handle, **clean)


def load(path: PathLike) -> Any:
    """Read a model written by ``model.save(path)``.

    Returns
    -------
    Ridge, SparseKernelRidge or Committee
        Fitted; it predicts bit for bit what the saved model predicted.

    Raises
    ------
    ValueError
        The file is not an mslode model, is corrupt (truncated, an array
        that does not match its checksum, a header that does not parse), or
        was written by a newer format version. The message names the file.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ValueError(f"{name}: cannot read the file ({error.strerror or error})") from None
    try:
        archive = np.load(_io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{name}: not an mslode model file (not an .npz archive, or a truncated one: {error})") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"{name}: not an mslode model file (a bare .npy array, not an .npz archive)")
    files = set(archive.files)
    if HEADER_KEY not in files:
        raise ValueError(f"{name}: not an mslode model file (no {HEADER_KEY} entry)")
    try:
        header = json.loads(bytes(_read(archive, HEADER_KEY, name)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{name}: corrupt model file (the header does not parse: {error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ValueError(f"{name}: not an mslode model file (format {header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{name}: corrupt model file (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{name}: written with model format version {version} (mslode {header.get('mslode_version')}); "
            f"this mslode reads up to version {FORMAT_VERSION}: upgrade mslode"
        )
    for key in ("estimator", "params", "fitted", "arrays"):
        if key not in header:
            raise ValueError(f"{name}: corrupt model file (the header has no {key!r})")
    arrays = {}
    for key, meta in header["arrays"].items():
        if key not in files:
            raise ValueError(f"{name}: corrupt model file (array {key!r} is missing)")
        array = _read(archive, key, name)
        if list(array.shape) != meta.get("shape") or array.dtype.str != meta.get("dtype"):
            raise ValueError(
                f"{name}: corrupt model file (array {key!r} is {array.dtype.str} {list(array.shape)}, the header says "
                f"{meta.get('dtype')} {meta.get('shape')})"
            )
        if _digest(array) != meta.get("sha256"):
            raise ValueError(f"{name}: corrupt model file (array {key!r} does not match its checksum)")
        arrays[key] = array
    extra = files - set(header["arrays"]) - {HEADER_KEY}
    if extra:
        raise ValueError(f"{name}: corrupt model file (arrays {sorted(extra)} are not in the header)")
    try:
        cls = _estimator_class(header["estimator"], name)
        model = cls(**params_from_json(header["params"], header["estimator"]))
        model._restore_state(header["fitted"], arrays)
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{name}: corrupt model file (cannot rebuild the model: {type(error).__name__}: {error})") from None
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return model


def _read(archive: Any, key: str, name: str) -> np.ndarray:
    try:
        return archive[key]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise ValueError(f"{name}: corrupt model file (cannot read {key!r}: {error})") from None


def subset_arrays(arrays: dict, prefix: str) -> dict:
    """The arrays saved under ``prefix`` (for nested models), without it."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "calculator_from_json",
    "calculator_to_json",
    "load",
    "read_labels",
    "read_property",
    "save_model",
]
