"""The CNNs the pipeline knows, and the shape of their ONNX model files.

A model file takes uint8 RGB images (N, IMAGE_SIZE, IMAGE_SIZE, 3) under the input name
MODEL_INPUT and returns (N, feature_size) features: the CNN without its top, with global
average pooling, and its own preprocess_input inside the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_SIZE = 224
MODEL_INPUT = "images"


@dataclass(frozen=True)
class CnnSpec:
    name: str
    feature_size: int
    keras_module: str  # keras.applications.<module>, which builds it (scripts.keras_export)
    keras_class: str


CNNS: dict[str, CnnSpec] = {
    spec.name: spec
    for spec in (
        CnnSpec("mobilenet_v2", 1280, "mobilenet_v2", "MobileNetV2"),
        CnnSpec("resnet50", 2048, "resnet50", "ResNet50"),
        CnnSpec("vgg16", 512, "vgg16", "VGG16"),
    )
}
DEFAULT_CNN = "mobilenet_v2"
# The largest number of PCA components every CNN can give.
SMALLEST_FEATURE_SIZE = min(spec.feature_size for spec in CNNS.values())
