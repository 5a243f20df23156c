"""Saving and loading converted networks without pickled code: :func:`save` and :func:`load`.

``torch.save(snn)`` pickles the network, so loading it needs
``torch.load(..., weights_only=False)``, which runs whatever code the file names. The
format here holds nothing but tensors and primitive containers (``dict``, ``list``,
``str``, numbers, ``bool``, ``None``), so it loads with ``torch.load(...,
weights_only=True)``. Objects are described, not pickled:

- a module or method object by the name of its class, which must be in
  :data:`SAFE_CLASSES` (gsnn's spiking layers, neurons, coders, readouts and methods, and
  a few weightless ``torch.nn`` modules), and its attributes, parameters and buffers; it
  is rebuilt by creating an instance of that class and setting those attributes, so no
  constructor or other code named by the file runs;
- the traced body (``torch.fx``) by its nodes; a ``call_function`` target must be in
  :data:`SAFE_FUNCTIONS` and a ``call_method`` target in :data:`SAFE_METHODS`.

Anything else is refused when saving, naming where it sits, and when loading. Attributes a
class lists in ``transient_attributes`` (caches, locks, records of the last call) are not
saved; loading makes them again.

The file records the format version and the gsnn version that wrote it; :func:`load`
refuses a newer major format version with a message saying to upgrade gsnn.
"""

from __future__ import annotations

import inspect
import operator
import os
import pickle
from typing import Any, Dict, List, Union

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn

import gsnn
from gsnn import coding, methods, neurons
from gsnn import nn as gsnn_nn
from gsnn.convert.input_binding import BodyInput, InputBinding
from gsnn.convert.spiking_network import SpikingNetwork
from gsnn.methods.layerwise_calibration import CalibrationOptions
from gsnn.metrics.energy import EnergyModel

FORMAT = "gsnn.SpikingNetwork"
# (major, minor): a new minor version only adds what older readers may ignore
FORMAT_VERSION = (1, 0)

PathLike = Union[str, os.PathLike]


def _classes_exported_by(*packages) -> List[type]:
    return [
        value
        for package in packages
        for value in (getattr(package, name) for name in package.__all__)
        if isinstance(value, type) and issubclass(value, nn.Module)
    ]


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


SAFE_CLASSES: Dict[str, type] = {
    _class_name(cls): cls
    for cls in [
        *_classes_exported_by(gsnn_nn, neurons, coding),
        *methods.METHODS.values(),
        CalibrationOptions,
        EnergyModel,
        InputBinding,
        BodyInput,
        nn.Module,
        nn.ModuleList,
        nn.Identity,
        nn.Flatten,
        nn.MaxPool2d,
        nn.AvgPool2d,
        nn.AdaptiveAvgPool2d,
    ]
}
"""The classes a saved network may name: rebuilt from attributes, never constructed."""

SAFE_FUNCTIONS = {
    "operator.add": operator.add,
    "torch.add": torch.add,
    "torch.cat": torch.cat,
    "torch.flatten": torch.flatten,
    "torch.softmax": torch.softmax,
    "torch.log_softmax": torch.log_softmax,
    "torch.nn.functional.softmax": F.softmax,
    "torch.nn.functional.log_softmax": F.log_softmax,
}
"""The functions a saved body or output op may call (residual adds, concatenation,
flattening, a final softmax): what a converted network keeps of the ANN's functions."""

SAFE_METHODS = frozenset({"add", "flatten", "softmax", "log_softmax"})
"""The tensor methods a saved body or output op may call."""

# what nn.Module.__init__ sets; of these only the following are saved
_MODULE_INTERNALS = frozenset(vars(nn.Module()))
_MODULE_SAVED = ("training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_modules")
_HOOKS = tuple(name for name in _MODULE_INTERNALS if "hook" in name)


class SerializationError(ValueError):
    """A network cannot be saved, or a file is not a network :func:`load` can rebuild."""


def save(snn: SpikingNetwork, path: PathLike) -> None:
    """Write a converted network to ``path`` in a format that runs no code when loaded.

    Holds the weights, thresholds, neurons, method and its options, ``T``, the input
    coding, the readout, the traced body's graph and the gsnn version. Caches (a graph
    layer's adjacency), the call lock and the records of the last call
    (:attr:`~SpikingNetwork.last_stats`) are not saved.

    Args:
        snn (SpikingNetwork): a network from :func:`gsnn.convert`.
        path (str or PathLike): the file to write.

    Raises:
        SerializationError: the network holds an object outside :data:`SAFE_CLASSES`,
            a function outside :data:`SAFE_FUNCTIONS` or a forward hook; the message
            names where.
    """
    if not isinstance(snn, SpikingNetwork):
        raise SerializationError(
            f"gsnn.save writes a SpikingNetwork from gsnn.convert, got {type(snn).__name__}; "
            "save an ANN with torch.save(model.state_dict(), path)."
        )
    payload = {
        "format": FORMAT,
        "format_version": list(FORMAT_VERSION),
        "gsnn_version": gsnn.__version__,
        "network": _Encoder().encode(snn, "snn"),
    }
    torch.save(payload, path)


def load(path: PathLike, map_location=None) -> SpikingNetwork:
    """Read a network written by :func:`save`; no code from the file runs.

    The file is read with ``torch.load(path, weights_only=True)``, which unpickles
    tensors and primitive containers only; modules are rebuilt from the classes in
    :data:`SAFE_CLASSES` and the body's graph from :data:`SAFE_FUNCTIONS` and
    :data:`SAFE_METHODS`.

    Args:
        path (str or PathLike): a file written by :func:`save`.
        map_location: where to put the tensors, as for :func:`torch.load`.

    Returns:
        SpikingNetwork: the network, bitwise equal in its outputs to the one saved.

    Raises:
        SerializationError: the file is not a saved network, was written in a newer
            major format version, or names a class or function outside the whitelists.
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise SerializationError(
            f"{path} is not a network saved by gsnn.save: it holds more than tensors and "
            f"primitive containers ({error})."
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SerializationError(f"{path} is not a network saved by gsnn.save.")
    version = payload.get("format_version")
    if not (
        isinstance(version, list) and len(version) == 2 and all(type(v) is int for v in version)
    ):
        raise SerializationError(f"{path} has no valid format version ({version!r}).")
    if version[0] > FORMAT_VERSION[0]:
        raise SerializationError(
            f"{path} was saved by gsnn {payload.get('gsnn_version')} in format "
            f"{version[0]}.{version[1]}; this gsnn ({gsnn.__version__}) reads format "
            f"{FORMAT_VERSION[0]}.x and older. Upgrade gsnn to load it."
        )
    network = _Decoder().decode(payload["network"])
    if not isinstance(network, SpikingNetwork):
        raise SerializationError(f"{path} does not hold a SpikingNetwork.")
    return network


class _Encoder:
    """Turns a network into tensors and primitive containers; each object is written once
    and referred to by number after that."""

    def __init__(self) -> None:
        self.numbers: Dict[int, int] = {}

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Tensor):
            if type(value) not in (Tensor, nn.Parameter) or value.layout != torch.strided:
                raise SerializationError(f"{where}: cannot save a {value.layout} {type(value)}.")
            return value.detach()
        if isinstance(value, torch.dtype):
            return {"dtype": str(value).removeprefix("torch.")}
        if isinstance(value, (tuple, list)):
            items = [self.encode(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return {"tuple": items} if isinstance(value, tuple) else {"list": items}
        if isinstance(value, (set, frozenset)):
            return {"set": [self.encode(item, where) for item in sorted(value, key=repr)]}
        if isinstance(value, dict):
            return {
                "dict": [
                    [self.encode(key, where), self.encode(item, f"{where}[{key!r}]")]
                    for key, item in value.items()
                ]
            }
        if isinstance(value, slice):
            return {"slice": self.encode((value.start, value.stop, value.step), where)}
        if inspect.isroutine(value) or isinstance(value, type):
            return {"function": _function_name(value, where)}
        return self._object(value, where)

    def _object(self, value: Any, where: str) -> Any:
        if id(value) in self.numbers:
            return {"ref": self.numbers[id(value)]}
        number = self.numbers[id(value)] = len(self.numbers)
        if isinstance(value, fx.GraphModule):
            return {
                "graph_module": number,
                "module": self._module_state(value, where, attributes=False),
                "graph": self._graph(value.graph, where),
            }
        class_name = _class_name(type(value))
        if type(value) is not SpikingNetwork and SAFE_CLASSES.get(class_name) is not type(value):
            raise SerializationError(
                f"{where}: cannot save an object of class {class_name}; gsnn.save writes only "
                "the classes in gsnn.serialization.SAFE_CLASSES."
            )
        if isinstance(value, nn.Module):
            return {"module": number, "class": class_name, **self._module_state(value, where)}
        return {"object": number, "class": class_name, "attributes": self._attributes(value, where)}

    def _attributes(self, value: Any, where: str) -> Any:
        transient = getattr(type(value), "transient_attributes", ())
        return self.encode(
            {
                name: item
                for name, item in vars(value).items()
                if name not in _MODULE_INTERNALS and name not in transient
            },
            where,
        )

    def _module_state(self, module: nn.Module, where: str, attributes: bool = True) -> dict:
        hooked = [name for name in _HOOKS if getattr(module, name, None)]
        if hooked:
            raise SerializationError(
                f"{where}: cannot save a module with hooks ({', '.join(hooked)}); remove them "
                "first."
            )
        state = {
            "training": module.training,
            "parameters": self.encode(
                {
                    name: None if p is None else [p.detach(), p.requires_grad]
                    for name, p in module._parameters.items()
                },
                where,
            ),
            "buffers": self.encode(dict(module._buffers), where),
            "non_persistent": sorted(module._non_persistent_buffers_set),
            "children": self.encode(
                {name: child for name, child in module._modules.items()}, where
            ),
        }
        if attributes:
            state["attributes"] = self._attributes(module, where)
        return state

    def _graph(self, graph: fx.Graph, where: str) -> list:
        nodes = []
        for node in graph.nodes:
            if node.op == "call_function":
                target = {"function": _function_name(node.target, f"{where}: node {node.name}")}
            elif node.op == "call_method" and node.target not in SAFE_METHODS:
                raise SerializationError(
                    f"{where}: node {node.name} calls Tensor.{node.target}, which is not in "
                    "gsnn.serialization.SAFE_METHODS."
                )
            else:
                target = node.target
            nodes.append(
                {
                    "name": node.name,
                    "op": node.op,
                    "target": target,
                    "args": self._arguments(node.args, where),
                    "kwargs": self._arguments(node.kwargs, where),
                    "sample_shape": self.encode(node.meta.get("sample_shape"), where),
                }
            )
        return nodes

    def _arguments(self, value: Any, where: str) -> Any:
        if isinstance(value, fx.Node):
            return {"node": value.name}
        if isinstance(value, (tuple, list)):
            items = [self._arguments(item, where) for item in value]
            return {"tuple": items} if isinstance(value, tuple) else {"list": items}
        if isinstance(value, dict):
            return {"dict": [[key, self._arguments(item, where)] for key, item in value.items()]}
        return self.encode(value, where)


def _function_name(function: Any, where: str) -> str:
    for name, safe in SAFE_FUNCTIONS.items():
        if safe is function:
            return name
    raise SerializationError(
        f"{where}: cannot save a reference to {function!r}; gsnn.save writes only the "
        "functions in gsnn.serialization.SAFE_FUNCTIONS."
    )


def _init_transient(instance: Any) -> None:
    """Make the attributes a class does not save (``transient_attributes``): by its
    ``_init_transient()`` if it has one, else as ``None``."""
    if hasattr(instance, "_init_transient"):
        instance._init_transient()
        return
    for name in getattr(type(instance), "transient_attributes", ()):
        setattr(instance, name, None)


class _Decoder:
    """Rebuilds what :class:`_Encoder` wrote, resolving names through the whitelists only."""

    def __init__(self) -> None:
        self.objects: Dict[int, Any] = {}

    def decode(self, value: Any, nodes: Dict[str, fx.Node] = None) -> Any:
        if value is None or isinstance(value, (bool, int, float, str, Tensor)):
            return value
        if not isinstance(value, dict) or len(value) == 0:
            raise SerializationError(f"Unexpected entry {type(value).__name__} in the file.")
        if "tuple" in value:
            return tuple(self.decode(item, nodes) for item in value["tuple"])
        if "list" in value:
            return [self.decode(item, nodes) for item in value["list"]]
        if "set" in value:
            return {self.decode(item, nodes) for item in value["set"]}
        if "dict" in value:
            return {self.decode(k, nodes): self.decode(v, nodes) for k, v in value["dict"]}
        if "dtype" in value:
            dtype = getattr(torch, value["dtype"], None)
            if not isinstance(dtype, torch.dtype):
                raise SerializationError(f"Unknown dtype {value['dtype']!r} in the file.")
            return dtype
        if "slice" in value:
            return slice(*self.decode(value["slice"]))
        if "function" in value:
            function = SAFE_FUNCTIONS.get(value["function"])
            if function is None:
                raise SerializationError(
                    f"The file calls {value['function']!r}, which is not in "
                    "gsnn.serialization.SAFE_FUNCTIONS."
                )
            return function
        if "node" in value:
            if nodes is None or value["node"] not in nodes:
                raise SerializationError(f"The file refers to an unknown node {value['node']!r}.")
            return nodes[value["node"]]
        if "ref" in value:
            return self.objects[value["ref"]]
        if "graph_module" in value:
            return self._graph_module(value)
        if "module" in value or "object" in value:
            return self._object(value)
        raise SerializationError(f"Unexpected entry with keys {sorted(value)} in the file.")

    def _object(self, value: dict) -> Any:
        name = value["class"]
        cls = SpikingNetwork if name == _class_name(SpikingNetwork) else SAFE_CLASSES.get(name)
        if cls is None:
            raise SerializationError(
                f"The file names the class {name!r}, which is not in "
                "gsnn.serialization.SAFE_CLASSES; it was not written by gsnn.save, or by a "
                "newer gsnn."
            )
        if ("module" in value) != issubclass(cls, nn.Module):
            raise SerializationError(f"The file describes {name!r} as the wrong kind of object.")
        instance = cls.__new__(cls)
        if "module" in value:
            self.objects[value["module"]] = instance
            nn.Module.__init__(instance)
            self._restore_module(instance, value)
        else:
            self.objects[value["object"]] = instance
            vars(instance).update(self.decode(value["attributes"]))
        _init_transient(instance)
        return instance

    def _restore_module(self, module: nn.Module, value: dict) -> None:
        if "attributes" in value:
            attributes = self.decode(value["attributes"])
            vars(module).update({k: v for k, v in attributes.items() if k not in _MODULE_INTERNALS})
        module.training = bool(value["training"])
        for name, parameter in self.decode(value["parameters"]).items():
            module._parameters[name] = (
                None if parameter is None else nn.Parameter(parameter[0], parameter[1])
            )
        module._buffers.update(self.decode(value["buffers"]))
        module._non_persistent_buffers_set.update(value["non_persistent"])
        for name, child in self.decode(value["children"]).items():
            if child is not None and not isinstance(child, nn.Module):
                raise SerializationError(f"The child {name!r} in the file is not a module.")
            module._modules[name] = child

    def _graph_module(self, value: dict) -> fx.GraphModule:
        root = nn.Module()
        self._restore_module(root, value["module"])
        graph = fx.Graph()
        nodes: Dict[str, fx.Node] = {}
        for entry in value["graph"]:
            op, target = entry["op"], entry["target"]
            if op == "call_function":
                target = self.decode(target)
            elif op == "call_method" and target not in SAFE_METHODS:
                raise SerializationError(
                    f"The file's node {entry['name']!r} calls Tensor.{target}, which is not in "
                    "gsnn.serialization.SAFE_METHODS."
                )
            elif op not in ("placeholder", "get_attr", "call_module", "output", "call_method"):
                raise SerializationError(f"Unknown graph op {op!r} in the file.")
            node = graph.create_node(
                op,
                target,
                self.decode(entry["args"], nodes),
                self.decode(entry["kwargs"], nodes),
                name=entry["name"],
            )
            if node.name != entry["name"]:
                raise SerializationError(f"The file holds the node name {entry['name']!r} twice.")
            sample_shape = self.decode(entry["sample_shape"])
            if sample_shape is not None:
                node.meta["sample_shape"] = sample_shape
            nodes[node.name] = node
        graph.lint()
        module = fx.GraphModule(root, graph)
        self.objects[value["graph_module"]] = module
        return module
