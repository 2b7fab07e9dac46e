"""`paddle.parameters`: a network's parameters by v2 name, and v2's model.tar format.

Not run directly:
    parameters = paddle.parameters.create(cost)          # v2's initial values, seeded by paddle.init(seed=)
    parameters.names(); parameters.get(name); parameters.set(name, ndarray)
    with open("model.tar", "w") as f: parameters.to_tar(f)          # text mode works, as in Python 2
    with open("model.tar", "r") as f: parameters = paddle.parameters.Parameters.from_tar(f)
Shapes are v2's (`get_shape`): an fc weight is (inputs, size), a bias (1, size), a conv weight (1, count).
Once a trainer uses them, get/set read and write the trainer's live values (v2's gradient machine).
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from . import param_file
from ._names import v2_getattr
from .runtime import RUNTIME
from .topology import Topology


class Parameters:
    """Named parameter values; `names()` keeps v2's order (layer by layer, as the network was built)."""

    def __init__(self):
        self._shapes: OrderedDict[str, tuple] = OrderedDict()
        self._values: dict[str, np.ndarray] = {}
        self._scopes: list = []  # (scope, place) of each trainer using these parameters (v2's gradient machines)

    # ---------------------------------------------------------------------------------------- lookup
    def keys(self) -> list[str]:
        return list(self._shapes)

    names = keys

    def has_key(self, key) -> bool:
        return key in self._shapes

    __contains__ = has_key

    def __iter__(self):
        return iter(list(self._shapes))

    def __len__(self) -> int:
        return len(self._shapes)

    def get_shape(self, key) -> tuple:
        if not isinstance(key, str):
            raise ValueError(f"parameter name should be a string, got {key!r}")
        if key not in self._shapes:
            raise ValueError(f"No such parameter {key!r}; this network has {', '.join(self._shapes) or 'none'}")
        return self._shapes[key]

    def get(self, parameter_name) -> np.ndarray:
        """A copy of the parameter's current values, in v2's shape."""
        shape = self.get_shape(parameter_name)
        for scope, _ in self._scopes:
            var = scope.find_var(parameter_name)
            if var is not None:
                return np.array(var.get_tensor(), dtype=np.float32).reshape(shape)
        return self._values[parameter_name].copy()

    __getitem__ = get

    def set(self, parameter_name, value) -> None:
        """Replace the parameter's values; `value` must have v2's shape (get_shape)."""
        shape = self.get_shape(parameter_name)
        if not isinstance(value, np.ndarray):
            raise ValueError(f"parameter {parameter_name!r}: the value must be a numpy array, got {type(value).__name__}")
        value = value.astype(np.float32)
        if value.shape != shape:
            raise ValueError(f"parameter {parameter_name!r}: value shape mismatch, expect {shape}, got {value.shape}")
        self._values[parameter_name] = value
        for scope, place in self._scopes:
            var = scope.find_var(parameter_name)
            if var is not None:
                tensor = var.get_tensor()
                tensor.set(value.reshape(tensor.shape()), place)

    __setitem__ = set

    # ------------------------------------------------------------------------------- trainer binding
    def _add(self, name: str, shape: tuple, value: np.ndarray) -> None:
        if name in self._shapes:
            raise ValueError(f"duplicated parameter {name!r}")
        self._shapes[name] = tuple(int(d) for d in shape)
        self._values[name] = value

    def attach(self, scope, place, specs) -> None:
        """Copy every value into `scope` (where a trainer's program runs) and read it back from there."""
        for spec in specs:
            if spec.name not in self._shapes:
                raise ValueError(f"the network needs parameter {spec.name!r}, which these Parameters do not have "
                                 "(build the network as the parameters were created, in a fresh process)")
            if math.prod(self._shapes[spec.name]) != math.prod(spec.paddle_shape):
                raise ValueError(f"parameter {spec.name!r} has shape {self._shapes[spec.name]} here but the "
                                 f"network needs {spec.paddle_shape}")
        for spec in specs:
            scope.find_var(spec.name).get_tensor().set(self.get(spec.name).reshape(spec.paddle_shape), place)
        self._scopes.insert(0, (scope, place))

    # ----------------------------------------------------------------------------------- tar format
    def serialize(self, name: str, f) -> None:
        """One parameter as v2 stored it: the 16-byte header, then float32 values."""
        values = np.ascontiguousarray(self.get(name), dtype="<f4").reshape(-1)
        param_file.binary(f, "w", "Parameters.serialize").write(param_file.HEADER.pack(0, 4, values.size)
                                                                + values.tobytes())

    def deserialize(self, name: str, f) -> None:
        data = param_file.binary(f, "r", "Parameters.deserialize").read()
        shape = self.get_shape(name)
        count = math.prod(shape)
        if len(data) != param_file.HEADER.size + 4 * count:
            raise param_file.ModelFileError(f"parameter {name!r}: expected {count} float32 values after the header")
        self.set(name, np.frombuffer(data, dtype="<f4", offset=param_file.HEADER.size).reshape(shape).copy())

    def to_tar(self, f) -> None:
        """Write every parameter to `f` in v2's model.tar format (a text-mode file works too)."""
        param_file.write_tar(f, [(name, shape, self.get(name)) for name, shape in self._shapes.items()])

    @staticmethod
    def from_tar(f) -> "Parameters":
        """The parameters stored in a v2 model.tar (ours or one written by paddle.v2)."""
        params = Parameters()
        for name, shape, values in param_file.read_tar(f):
            params._add(name, shape, values)
        return params

    def init_from_tar(self, f, exclude_params=()) -> None:
        """Set every parameter that the tar holds too (except `exclude_params`)."""
        stored = Parameters.from_tar(f)
        for name in stored.names():
            if name in self._shapes and name not in exclude_params:
                self.set(name, stored.get(name).reshape(self._shapes[name]))


def initial_value(spec, rng: np.random.Generator) -> np.ndarray:
    """A parameter's starting values as v2 drew them (ParameterConfig initial_mean/std/strategy/smart)."""
    if spec.initializer is not None:
        value = np.asarray(spec.initializer(spec.name), dtype=np.float32)
        if value.shape != spec.shape:
            raise ValueError(f"the initializer of parameter {spec.name!r} returned shape {value.shape}, "
                             f"expected {spec.shape}")
        return value
    kind, a, b = spec.init.kind, spec.init.a, spec.init.b
    if kind == "smart":  # std 1/sqrt(dims[0]): the fan-in of an fc weight (config_parser.py, Parameter)
        kind, a, b = "normal", 0.0, 1.0 / math.sqrt(spec.shape[0])
    if kind == "uniform":
        return rng.uniform(a, b, spec.shape).astype(np.float32)
    if b == 0.0:
        return np.full(spec.shape, a, dtype=np.float32)
    return rng.normal(a, b, spec.shape).astype(np.float32)


def create(layers) -> Parameters:
    """The parameters of the network that `layers` (a cost, an output, or a list of them) needs."""
    params = Parameters()
    rng = RUNTIME.generator()
    for spec in Topology(layers).parameters():
        params._add(spec.name, spec.shape, initial_value(spec, rng))
    return params


__getattr__ = v2_getattr("parameters", {})
