"""The notebooks' pattern, kept only as the benchmark's baseline.

A pandas UDF that rebuilds the CNN in every task, Spark's default file packing and Arrow
batch, no thread limits: how features were computed before the featurize job.

    python -m tests.benchmarks.notebook_pattern INPUT OUTPUT
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
from PIL import Image
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T


def model_fn():
    from keras.applications.mobilenet_v2 import MobileNetV2

    return MobileNetV2(weights=None, include_top=False, pooling="avg", input_shape=(224, 224, 3))


def preprocess(content: bytes) -> np.ndarray:
    from keras.applications.mobilenet_v2 import preprocess_input

    image = Image.open(io.BytesIO(content)).convert("RGB").resize((224, 224))
    return preprocess_input(np.asarray(image, dtype=np.float32))


@F.pandas_udf(T.ArrayType(T.FloatType()))
def featurize_udf(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
    model = model_fn()
    for contents in batches:
        arrays = np.stack([preprocess(content) for content in contents])
        yield pd.Series(list(model.predict(arrays, verbose=0)))


def main(input_uri: str, output_uri: str) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.appName("notebook-pattern").getOrCreate()
    images = spark.read.format("binaryFile").option("pathGlobFilter", "*.jpg")
    images = images.option("recursiveFileLookup", "true").load(input_uri)
    images.select("path", featurize_udf("content").alias("features")).write.mode(
        "overwrite"
    ).parquet(output_uri)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
