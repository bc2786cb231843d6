"""Record: a frozen value class declared like a frozen dataclass, without dataclasses' cost at import.

The notification hook runs once per event; `@dataclass` generates and compiles each class's methods when its module
is imported (about 0.5-1 ms a class, 19 classes on the hook path, plus importing dataclasses and inspect). A
Record subclass lists its fields as annotations with defaults as class attributes, exactly as a dataclass would;
the shared methods below do the work at call time instead:

    class Stamp(Record):
        message_id: str
        sequence: int = 0

    Stamp("id", 3).replace(sequence=4)   # dataclasses.replace
    stamp.as_dict()                      # dataclasses.asdict (nested Records too)
    Stamp.field_names()                  # [f.name for f in dataclasses.fields(Stamp)]

Instances are immutable (assignment raises AttributeError), compare and hash by their fields like a frozen
dataclass, and print as `Stamp(message_id='id', sequence=3)`.
"""

from __future__ import annotations


class Record:
    _fields: tuple[str, ...] = ()
    _defaults: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items()
               if not str(kind).startswith("ClassVar")]
        cls._fields = (*cls._fields, *(name for name in own if name not in cls._fields))
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}

    def __init__(self, *args, **kwargs):
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} positional arguments, {len(args)} given")
        values = dict(zip(fields, args, strict=False))  # fewer args than fields: defaults follow
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
            values[name] = value
        if len(values) < len(fields):
            for name in fields:
                if name not in values:
                    if name not in self._defaults:
                        raise TypeError(f"{type(self).__name__}() missing required argument {name!r}")
                    values[name] = self._defaults[name]
        object.__setattr__(self, "__dict__", values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return cls._fields

    def replace(self, **changes):
        return type(self)(**{**self.__dict__, **changes})

    def as_dict(self) -> dict:
        return {name: _plain(value) for name, value in self.__dict__.items()}

    def _values(self) -> tuple:
        return tuple(self.__dict__[name] for name in self._fields)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is frozen")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is frozen")

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={self.__dict__[n]!r}' for n in self._fields)})"


def _plain(value):
    if isinstance(value, Record):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
