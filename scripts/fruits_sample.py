"""Generate a Fruits-360-like sample: 100x100 RGB JPEGs of a fruit on white, a folder per class.

    python -m scripts.fruits_sample OUTPUT_DIR [--classes 6] [--per-class 50] [--seed 0]

Each class has its own colour, shape and size, so classes separate in feature space as real
fruit do; each image varies in rotation, position, scale and lighting. Deterministic per seed.
"""

from __future__ import annotations

import argparse
import colorsys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 100
CLASS_NAMES = (
    "Apple Braeburn",
    "Banana",
    "Cherry Rainier",
    "Kiwi",
    "Lemon",
    "Mango",
    "Orange",
    "Pear",
    "Plum",
    "Strawberry",
    "Tomato 1",
    "Grape White",
)


def fruit_image(class_index: int, rng: np.random.Generator) -> Image.Image:
    hue = (class_index * 0.618) % 1.0  # golden-ratio steps keep class colours apart
    width = 40 + 9 * (class_index % 4) + rng.integers(-4, 5)
    height = 70 - 8 * (class_index % 3) + rng.integers(-4, 5)
    lightness = 0.45 + 0.1 * rng.random()
    rgb = colorsys.hls_to_rgb(hue, lightness, 0.75)
    colour = tuple(int(255 * channel) for channel in rgb)
    shade = tuple(int(0.6 * channel) for channel in colour)

    fruit = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(fruit)
    left, top = (SIZE - width) // 2, (SIZE - height) // 2
    draw.ellipse((left, top, left + width, top + height), fill=(*shade, 255))
    draw.ellipse((left + 3, top + 3, left + width - 8, top + height - 8), fill=(*colour, 255))
    draw.line((SIZE // 2, top, SIZE // 2 + 3, top - 8), fill=(90, 60, 20, 255), width=3)
    fruit = fruit.rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC)
    fruit = fruit.transform(
        fruit.size,
        Image.Transform.AFFINE,
        (1, 0, rng.integers(-8, 9), 0, 1, rng.integers(-8, 9)),
    )
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 255))
    image.alpha_composite(fruit)
    noise = rng.normal(0, 6, (SIZE, SIZE, 3))
    pixels = np.clip(np.asarray(image.convert("RGB"), dtype=np.float32) + noise, 0, 255)
    return Image.fromarray(pixels.astype(np.uint8)).filter(ImageFilter.SMOOTH)


def generate(
    root: Path, classes: int = 6, per_class: int = 50, seed: int = 0, start: int = 0
) -> list[Path]:
    """Write classes x per_class JPEGs under root/<class name>/; returns their paths.

    `start` numbers the files, so a later call adds new images next to earlier ones.
    """
    if not 1 <= classes <= len(CLASS_NAMES):
        raise ValueError(f"classes must be between 1 and {len(CLASS_NAMES)}")
    rng = np.random.default_rng(seed)
    paths = []
    for class_index, name in enumerate(CLASS_NAMES[:classes]):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(start, start + per_class):
            path = folder / f"{number}_100.jpg"
            fruit_image(class_index, rng).save(path, "JPEG", quality=95)
            paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.output, args.classes, args.per_class, args.seed)
    print(f"wrote {len(paths)} images in {args.classes} classes under {args.output}")


if __name__ == "__main__":
    main()
