"""The options a conversion method accepts, read from its constructor and its docstring.

A method declares its options once, the way every class here does: as keyword
arguments of ``__init__`` with defaults, each described in the class docstring's
``Args:`` section as ``name (type[, optional]): description. (default: ...)``.
:func:`method_options` reads that declaration back, so that tools (``gsnn
methods``, error messages) list the options without a second copy of them, and
:func:`check_method_options` refuses unknown names and values of the wrong type
before a method is built.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Dict, Tuple, Type

from gsnn.methods.method import ConversionMethod

_TYPES = {"bool": bool, "int": int, "float": float, "str": str}
_ARGUMENT = re.compile(r"^(?P<name>\w+) \((?P<type>[^)]*)\):\s*(?P<text>.*)$")
_DEFAULT = re.compile(r"\s*\(default: [^)]*\)\s*$")
_MARKUP = re.compile(r":\w+:`([^`]*)`|``([^`]*)``")
_LATEX = {r"\geq": ">=", r"\ge": ">=", r"\leq": "<=", r"\le": "<=", r"\in": "in", "\\": ""}
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+|\\")


@dataclass(frozen=True)
class MethodOption:
    """One keyword option of a conversion method.

    Attributes:
        name (str): the keyword.
        kind (type): ``bool``, ``int``, ``float`` or ``str``.
        default (Any): the value used when the option is not given.
        optional (bool): whether ``None`` is accepted as well.
        description (str): the docstring's description, without its default.
    """

    name: str
    kind: type
    default: Any
    optional: bool
    description: str

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this option's type (an int passes for a float)."""
        if value is None:
            return self.optional
        if self.kind is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, self.kind)

    def expected(self) -> str:
        """What a value must be, in words: ``"True or False"``, ``"an int"``, ..."""
        if self.kind is bool:
            words = "True or False"
        else:
            words = {int: "an integer", float: "a number", str: "a string"}[self.kind]
        return words + (" (or None)" if self.optional else "")

    def __str__(self) -> str:
        kind = self.kind.__name__ + (" or None" if self.optional else "")
        return f"{self.name}={self.default!r} ({kind})"


def method_summary(cls: Type[ConversionMethod]) -> str:
    """The first line of the method's docstring, as plain text."""
    return plain_text(inspect.cleandoc(cls.__doc__ or "").partition("\n")[0])


def method_options(cls: Type[ConversionMethod]) -> Tuple[MethodOption, ...]:
    """The options of method class ``cls``, in constructor order.

    Raises:
        TypeError: if a constructor argument has no default or no type (neither an
            annotation nor a documented type), i.e. the method breaks the convention.
    """
    if cls.__init__ is object.__init__:
        return ()
    documented = _documented_arguments(cls)
    options = []
    for parameter in inspect.signature(cls.__init__).parameters.values():
        if parameter.name == "self":
            continue
        doc_type, description = documented.get(parameter.name, ("", ""))
        kind = _TYPES.get(getattr(parameter.annotation, "__name__", "")) or _TYPES.get(
            doc_type.split(",")[0].strip()
        )
        if parameter.default is inspect.Parameter.empty or kind is None:
            raise TypeError(
                f"{cls.__name__}.__init__ argument {parameter.name!r} needs a default and a "
                "type (annotation or 'name (type): ...' in the docstring's Args section)."
            )
        optional = parameter.default is None or "optional" in doc_type
        options.append(MethodOption(parameter.name, kind, parameter.default, optional, description))
    return tuple(options)


def check_method_options(cls: Type[ConversionMethod], options: Dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem and the method's options, unless every
    name in ``options`` is an option of ``cls`` and every value has its type."""
    declared = {option.name: option for option in method_options(cls)}
    listing = ", ".join(str(option) for option in declared.values()) or "none"
    for name, value in options.items():
        if name not in declared:
            problem = f"it has no option {name!r}"
        elif not declared[name].accepts(value):
            problem = f"{name} must be {declared[name].expected()}, got {value!r}"
        else:
            continue
        raise ValueError(
            f"Bad options for method {cls.name!r}: {problem}; its options (with defaults) "
            f"are: {listing}."
        )


def _documented_arguments(cls: Type[ConversionMethod]) -> Dict[str, Tuple[str, str]]:
    """``{name: (type text, description)}`` from the class docstring's ``Args:`` section."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    if "Args:" not in lines:
        return {}
    arguments: Dict[str, Tuple[str, str]] = {}
    current = None
    for line in lines[lines.index("Args:") + 1 :]:
        if line and not line.startswith(" "):
            break
        match = _ARGUMENT.match(line.strip())
        if match and line.startswith("    ") and not line.startswith("     "):
            current = match["name"]
            arguments[current] = (match["type"], match["text"])
        elif current is not None and line.strip():
            doc_type, text = arguments[current]
            arguments[current] = (doc_type, f"{text} {line.strip()}")
    return {
        name: (doc_type, plain_text(_DEFAULT.sub("", text).strip()))
        for name, (doc_type, text) in arguments.items()
    }


def plain_text(text: str) -> str:
    """``text`` without reST markup: roles and literals lose their quotes, ``\\beta`` its
    backslash, ``\\geq`` becomes ``>=``."""
    text = _MARKUP.sub(lambda match: match[1] if match[1] is not None else match[2], text)
    return _LATEX_COMMAND.sub(lambda match: _LATEX.get(match[0], match[0][1:]), text)
