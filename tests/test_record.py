"""Record: the frozen value classes of the hook path behave as the frozen dataclasses they replace."""

from __future__ import annotations

import pytest

from tkalert.document.event import Event
from tkalert.record import Record
from tkalert.sender.message import SealedMessage


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


class Labelled(Point):
    label: str = "p"


def test_fields_defaults_order_and_inheritance():
    assert Point.field_names() == ("x", "y", "tags") and Labelled.field_names() == ("x", "y", "tags", "label")
    assert Point(1) == Point(x=1, y=0, tags=()) and Labelled(1, 2).label == "p"
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"


def test_misuse_raises_type_error_like_a_dataclass():
    with pytest.raises(TypeError, match="missing required argument 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=3)
    with pytest.raises(TypeError, match="multiple values"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="positional"):
        Point(1, 2, (), 4)


def test_frozen_hashable_and_replace_makes_a_new_one():
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 5
    with pytest.raises(AttributeError):
        del point.y
    assert point.replace(y=3) == Point(1, 3) and point == Point(1, 2)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and Point(1, 2) != Labelled(1, 2)


def test_as_dict_is_deep_like_asdict():
    message = SealedMessage("id", "alert", "sys", 1, "now", b"p", b"x")
    nested = Point(1, tags=(message,))
    assert nested.as_dict()["tags"][0]["message_id"] == "id"
    assert Event.given_fields()[0] == "auth_key" and "event_type" not in Event.given_fields()
