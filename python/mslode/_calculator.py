"""Calculators as values: hyper-parameters fixed at construction (read-only
attributes), equality and hashing by them, scikit-learn's get_params /
set_params / clone protocol, pickled as parameters alone."""

from __future__ import annotations

import threading
from typing import Any


class _State:
    """One calculator's hyper-parameters and everything built from them (C++
    calculators per species set, radial tables). Never changed once made:
    :meth:`_Calculator.set_params` replaces it whole, so a computation that
    started with one state finishes with it, and no table outlives the
    parameters it was built for."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.built: dict[Any, Any] = {}
        self.lock = threading.RLock()

    def get_or_build(self, key: Any, build: Any) -> Any:
        with self.lock:
            value = self.built.get(key)
            if value is None:
                value = build()
                self.built[key] = value
            return value


def _hyper_parameter(name: str, doc: str) -> property:
    """A read-only attribute for one hyper-parameter (lists come as copies)."""

    def get(self: "_Calculator") -> Any:
        value = self._state.params[name]
        return list(value) if isinstance(value, list) else value

    return property(get, doc=doc)


class _Calculator:
    """Hyper-parameters as values: read-only attributes, equality and hashing
    by parameters, scikit-learn's ``get_params``/``set_params``/``clone``
    protocol, pickled as parameters alone (tables are rebuilt on arrival)."""

    _state: _State

    @classmethod
    def _validated(cls, params: dict) -> dict:
        """Checked, canonical hyper-parameters (the values ``get_params`` returns)."""
        raise NotImplementedError

    def _initialise(self, params: dict) -> None:
        object.__setattr__(self, "_state", _State(self._validated(params)))

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        cls = type(self).__name__
        raise AttributeError(
            f"{cls}.{name} cannot be assigned: a calculator's hyper-parameters are fixed when it is made (its "
            f"tables depend on them). Make a new one, {cls}(**{{**calculator.get_params(), {name!r}: value}}), "
            f"or call calculator.set_params({name}=value), which rebuilds it"
        )

    def get_params(self, deep: bool = True) -> dict:
        """The hyper-parameters, as keyword arguments of the constructor.

        Parameters
        ----------
        deep : bool
            Also list the parameters of nested calculators as
            ``name__parameter`` (scikit-learn's convention).
        """
        return {name: (list(value) if isinstance(value, list) else value) for name, value in self._state.params.items()}

    def set_params(self, **params: Any) -> "_Calculator":
        """Change hyper-parameters; everything built from the old ones is dropped.

        The calculator then computes exactly what a new one made with the
        same parameters computes. Not to be called while another thread
        computes with this object (that computation finishes with the old
        parameters); a calculator used as a dictionary key changes its hash.

        Returns
        -------
        self
        """
        unknown = sorted(set(params) - set(self._state.params))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no parameter {', '.join(unknown)}; valid: {', '.join(self._state.params)}"
            )
        self._initialise({**self.get_params(deep=False), **params})
        return self

    def __sklearn_clone__(self) -> "_Calculator":
        return type(self)(**self.get_params(deep=False))

    def __getstate__(self) -> dict:
        return self.get_params(deep=False)

    def __setstate__(self, state: dict) -> None:
        self._initialise(state)

    def _key(self) -> tuple:
        return tuple((name, tuple(v) if isinstance(v, list) else v) for name, v in self._state.params.items())

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"
