"""The DAG on the local AWS with the keys real uploads produce: camera and macOS names,
colons, S3-console folder markers, keys longer than a file name may be, NFC and NFD labels.

One daily run, triggered with {"model": "vgg16"} as from the UI: the cluster runs VGG16's
deployed ONNX file (MobileNetV2's runs in test_pipeline.py). Every image key is featurized or
rejected with a reason, and every recorded path is the object's whole s3:// URI, as on EMR.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PIL import Image

from fruitspark.models import identity
from localaws.client import LAST_MODIFIED_METADATA, read_latest, read_parquet
from tests.e2e.conftest import BUCKET
from tests.spark_jobs.photos import encode, fruit_jpeg

pytestmark = pytest.mark.slow
UPLOADED, RUN_DATE = datetime(2026, 11, 18, 9, tzinfo=UTC), "2026-11-18"
COMPOSED, DECOMPOSED = "Cl\u00e9mentine", "Cle\u0301mentine"
LONG_NAME = "x" * 300 + ".jpg"  # a valid S3 key, too long for a file name on any disk
PICTURE = Image.new("RGB", (100, 100), (90, 160, 40))
IMAGES = {  # key under images/ -> label
    "Kiwi/_DSC0001.JPG": "Kiwi",
    "Kiwi/.hidden.jpg": "Kiwi",
    "Kiwi/IMG 2024-01-01 12:00:00.jpg": "Kiwi",
    f"Kiwi/{LONG_NAME}": "Kiwi",
    "Kiwi/photo.heic": "Kiwi",
    "Kiwi/photo.webp": "Kiwi",
    "_Lime/1.jpg": "_Lime",
    ".Lemon/1.jpg": ".Lemon",
    f"{COMPOSED}/phone.jpg": COMPOSED,
    f"{DECOMPOSED}/mac.jpg": COMPOSED,
}
REJECTED = {
    "Kiwi/._DSC0001.JPG": "not_an_image",
    "loose.jpg": "no_label",
    "Pear//b.jpg": "unreadable",  # a string join with an empty part: S3 takes it
}
# Directly under images/ with an empty part: Arrow cannot list images// alone, and a daily
# run rejects that folder once for all it holds.
EMPTY_FOLDER_KEY = "/c.jpg"
# An object whose key ends with "/" yet has content: Arrow lists it without its slash.
FOLDER_WITH_CONTENT = "Kiwi/late.jpg/"


def content(key: str) -> bytes:
    if key.endswith(".heic"):
        return encode(PICTURE, "HEIF")
    if key.endswith(".webp"):
        return encode(PICTURE, "WEBP")
    if key.rsplit("/", 1)[-1].startswith("._"):
        return b"\x00\x05\x16\x07" + bytes(4092)  # AppleDouble's magic number
    return fruit_jpeg()


def uri(key: str) -> str:
    return f"s3://{BUCKET}/images/{key}"


@pytest.fixture(scope="module")
def run(stack):
    metadata = {LAST_MODIFIED_METADATA: UPLOADED.isoformat()}
    stack.s3.put_object(Bucket=BUCKET, Key="images/Kiwi/", Body=b"", Metadata=metadata)
    for key in [*IMAGES, *REJECTED, FOLDER_WITH_CONTENT, EMPTY_FOLDER_KEY]:
        stack.s3.put_object(
            Bucket=BUCKET, Key=f"images/{key}", Body=content(key), Metadata=metadata
        )
    state, tasks, _ = stack.run(RUN_DATE, conf={"model": "vgg16"})
    return state, tasks


def test_the_day_succeeds(run):
    state, tasks = run
    assert state == "success", tasks


def test_every_image_key_is_featurized_with_its_whole_uri_and_nfc_label(stack, run):
    table = read_parquet(stack.s3, BUCKET, "features/model=vgg16/")
    assert dict(zip(table["path"], table["label"], strict=True)) == {
        uri(key): label for key, label in IMAGES.items()
    }


def test_the_features_are_vgg16s_from_its_deployed_onnx_file(stack, run, tmp_path):
    table = read_parquet(stack.s3, BUCKET, "features/model=vgg16/")
    assert {len(vector) for vector in table["features"]} == {512}
    deployed = tmp_path / "vgg16.onnx"
    stack.s3.download_file(BUCKET, "artifacts/models/vgg16.onnx", str(deployed))
    assert set(table["model_id"]) == {identity(str(deployed))}


def test_the_rest_is_rejected_with_reasons_and_no_label_is_empty(stack, run):
    rejected = read_parquet(stack.s3, BUCKET, "features/_rejected/model=vgg16/")
    assert {
        path: reason.split(":")[0]
        for path, reason in zip(rejected["path"], rejected["reason"], strict=True)
    } == {
        **{uri(key): code for key, code in REJECTED.items()},
        uri(FOLDER_WITH_CONTENT).rstrip("/"): "unreadable",
        uri("/"): "unreadable",
    }
    (folder_reason,) = rejected.loc[rejected["path"] == uri("Kiwi/late.jpg"), "reason"]
    assert "ending with /" in folder_reason
    assert "" not in set(rejected["label"])


def test_pca_keeps_the_same_paths(stack, run):
    rows = read_latest(stack.s3, BUCKET, "pca/model=vgg16/")
    assert set(rows["path"]) == {uri(key) for key in IMAGES}
