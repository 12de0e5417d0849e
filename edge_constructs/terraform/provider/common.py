"""What every resource and data source of the `edge` provider shares: how it is named and
built, and how it reports an error."""
from __future__ import annotations

from typing import ClassVar, Optional

from tf.schema import Attribute, Schema
from tf.utils import Diagnostics


def add_error(diags: Diagnostics, summary: str, detail: str, attr: Optional[str] = None) -> None:
    """An error diagnostic: `summary` says what failed, `detail` what to do; `attr` points
    Terraform at the configuration attribute at fault."""
    diags.add_error(summary, detail, path=[attr] if attr else None)


class Named:
    """A resource or data source: its type name after the provider's prefix (`edge_<NAME>`),
    the version of its schema and its one-line description, declared once at the top of
    its module."""
    NAME: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    DESCRIPTION: ClassVar[str]

    def __init__(self, provider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.NAME

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(version=cls.SCHEMA_VERSION, description=cls.DESCRIPTION,
                      attributes=cls.attributes())

    @classmethod
    def attributes(cls) -> list[Attribute]:
        """The attributes of the schema, in order."""
        raise NotImplementedError
