"""A minimal ICC v2 display profile (matrix and gamma curves), written byte by byte: no ICC
file ships in any package here, and ImageCms builds only sRGB, LAB and XYZ itself."""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)
# Display P3's colorants adapted to D50 (as in Apple's profile), columns r, g, b.
DISPLAY_P3 = (
    (0.515102, 0.291965, 0.157153),
    (0.241182, 0.692236, 0.066582),
    (-0.00105, 0.041882, 0.784378),
)
SRGB = (
    (0.436066, 0.385147, 0.143066),
    (0.222488, 0.716873, 0.060608),
    (0.013916, 0.097076, 0.714096),
)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _description(text: str) -> bytes:
    ascii_text = text.encode() + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + bytes(4 + 4 + 2 + 1 + 67)
    )


def display_profile(colorants=DISPLAY_P3, gamma: float = 2.2, name: str = "Display P3") -> bytes:
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = {
        b"desc": _description(name),
        b"wtpt": _xyz(*D50),
        b"rXYZ": _xyz(*(row[0] for row in colorants)),
        b"gXYZ": _xyz(*(row[1] for row in colorants)),
        b"bXYZ": _xyz(*(row[2] for row in colorants)),
        b"rTRC": curve,
        b"gTRC": curve,
        b"bTRC": curve,
        b"cprt": b"text\0\0\0\0test\0\0\0\0",
    }
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for signature, data in tags.items():
        table.append(signature + struct.pack(">II", offset + len(body), len(data)))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8 + 4)
        + _s15(D50[0])
        + _s15(D50[1])
        + _s15(D50[2])
        + bytes(4 + 44)
    )
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body
