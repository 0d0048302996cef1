"""The datasets' schemas of the contract (fruits_contract.schemas) as Spark types."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fruits_contract import schemas

FEATURES = StructType.fromJson(schemas.FEATURES)
REJECTED = StructType.fromJson(schemas.REJECTED)


def conform(table: DataFrame, schema: StructType) -> DataFrame:
    """table's columns as the schema states them: its order, its types, nothing else."""
    return table.select(*(F.col(field.name).cast(field.dataType) for field in schema.fields))
