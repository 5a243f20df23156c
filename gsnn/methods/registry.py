"""Conversion methods registered by name."""

from typing import Dict, Type, Union

from gsnn.methods.method import ConversionMethod
from gsnn.methods.options import check_method_options

METHODS: Dict[str, Type[ConversionMethod]] = {}


def register_method(cls: Type[ConversionMethod]) -> Type[ConversionMethod]:
    """Class decorator adding a method to the registry under ``cls.name``."""
    if cls.name in METHODS:
        raise ValueError(f"A conversion method named {cls.name!r} is already registered.")
    METHODS[cls.name] = cls
    return cls


def get_method(method: Union[str, ConversionMethod], **options) -> ConversionMethod:
    """Resolve a method name (with options) or pass an instance through."""
    if isinstance(method, ConversionMethod):
        if options:
            raise ValueError("Pass options to the method's constructor, not to convert().")
        return method
    if method not in METHODS:
        raise ValueError(
            f"Unknown conversion method {method!r}; "
            f"registered methods: {', '.join(sorted(METHODS))}."
        )
    check_method_options(METHODS[method], options)
    return METHODS[method](**options)
