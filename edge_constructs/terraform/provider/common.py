"""What every resource and data source of the `edge` provider shares: how it is named,
versioned, described and built, and how it reports an error."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, Optional

from tf.schema import Attribute, Schema
from tf.types import String, Unknown
from tf.utils import Diagnostics

from provisioners.core.errors import ValidationError


def add_error(diags: Diagnostics, summary: str, detail: str, attr: Optional[str] = None) -> None:
    """An error diagnostic: `summary` says what failed, `detail` what to do; `attr` points
    Terraform at the configuration attribute at fault."""
    diags.add_error(summary, detail, path=[attr] if attr else None)


def _known(value: object) -> bool:
    if value is Unknown:
        return False
    if isinstance(value, Mapping):
        return all(_known(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_known(v) for v in value)
    return True


def check_rules(diags: Diagnostics, rule: Callable[[Mapping[str, object]], None],
                config: Mapping[str, object]) -> None:
    """Run `rule` (one of `edge_constructs.validation`'s, the constructs' own rules) on the
    attributes of `config` that are known, so a configuration written by hand is held to
    what the constructs accept; its ValidationError becomes an error naming the attribute,
    the value and what is allowed."""
    known = {k: v for k, v in config.items() if _known(v)}
    try:
        rule(known)
    except ValidationError as e:
        attr = re.split(r"[.\[]", str(e.field))[0]
        add_error(diags, f"{e.field} {e.value!r} is not valid", f"{e.field}: {e.allowed}", attr)


@dataclass(frozen=True)
class Meta:
    """A resource's or data source's name after the provider's prefix (`edge_<name>`), the
    version of its schema, its one-line description and what its `id` holds: declared once,
    at the top of its class."""
    name: str
    version: int
    description: str
    id: str


class Named:
    """A resource or data source built from its `META` and `attributes()`; the `id`
    attribute comes first, from `META.id`."""
    META: ClassVar[Meta]

    def __init__(self, provider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.META.name

    @classmethod
    def get_schema(cls) -> Schema:
        m = cls.META
        return Schema(version=m.version, description=m.description, attributes=[
            Attribute("id", String(), computed=True, description=m.id), *cls.attributes()])

    @classmethod
    def attributes(cls) -> list[Attribute]:
        """The attributes of the schema after `id`, in order."""
        raise NotImplementedError
