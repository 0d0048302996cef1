"""How many Spark partitions a job's work is cut into."""

from __future__ import annotations

import math

IMAGES_PER_PARTITION = 1000  # caps the work a failed featurize task retries
WAVES = 2  # partitions per core, so a slow task does not idle the rest


def partition_plan(image_count: int, cores: int) -> tuple[int, int]:
    """(partitions, images per partition): WAVES per core, at most IMAGES_PER_PARTITION each,
    in whole waves: with 9 partitions on 2 cores, one core would idle through the last."""
    wanted = max(cores * WAVES, math.ceil(image_count / IMAGES_PER_PARTITION))
    wanted = math.ceil(wanted / cores) * cores
    per_partition = math.ceil(image_count / min(image_count, wanted))
    return math.ceil(image_count / per_partition), per_partition
