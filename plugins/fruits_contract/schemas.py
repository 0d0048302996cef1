"""The datasets' schemas: the contract between featurize, PCA and whoever reads their output.

In Spark's own JSON form (pyspark's StructType.fromJson builds them: fruitspark.schemas), so
that this package stays standard library only. The partition columns come last, as Spark
reads them back.
"""

from __future__ import annotations

from fruits_contract.layout import PARTITION_COLUMNS


def _field(name: str, data_type: str | dict) -> dict:
    return {"name": name, "type": data_type, "nullable": True, "metadata": {}}


def _struct(*fields: dict) -> dict:
    return {
        "type": "struct",
        "fields": [*fields, *(_field(c, "string") for c in PARTITION_COLUMNS)],
    }


FLOAT_ARRAY = {"type": "array", "elementType": "float", "containsNull": True}

# One row per featurized image: model_id is the SHA-256 of the model file that computed it.
FEATURES = _struct(
    _field("path", "string"),
    _field("label", "string"),
    _field("model_id", "string"),
    _field("features", FLOAT_ARRAY),
)
# One row per file featurize did not featurize, with the documented reason (docs/jobs.md).
REJECTED = _struct(
    _field("path", "string"),
    _field("label", "string"),
    _field("reason", "string"),
)
