"""字段目录: the typed profile fields that policy conditions may use."""

from mianshen.catalogue.fields import Catalogue, Field, FieldType, load_catalogue

__all__ = ["Catalogue", "Field", "FieldType", "load_catalogue"]
