"""A Python worker's memory while it decodes a chunk of the largest images it accepts: the
decoded pixels in flight are bounded across its read threads (fruitspark.batches)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.airflow_env import ROOT

pytestmark = pytest.mark.slow
SIDE = 7745  # 59,985,025 pixels: just under fruitspark.images.MAX_PIXELS
PEAK_LIMIT_MB = 1536  # docs/jobs.md; the issue aimed for 2 GB, and 1.2 GB is measured
MAKE_PNG = f"""
import sys
import numpy as np
from PIL import Image
ramp = np.linspace(0, 65535, {SIDE}, dtype=np.uint16)
Image.fromarray(np.add.outer(ramp // 2, ramp // 2)).save(sys.argv[1], compress_level=1)
"""
DECODE_A_CHUNK = """
import sys
from fruitspark.batches import featurize_files
paths = [f"file:{sys.argv[1]}"] * 4
result = featurize_files(paths, lambda batch: batch[:, :1, :1, 0].astype("float32"), 4)
assert result["reason"].isna().all(), result["reason"].tolist()
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) // 1024)
"""
# VmHWM, this process's own peak: ru_maxrss would keep its parent's (pytest's) across exec.


def test_a_chunk_of_four_60_megapixel_16_bit_pngs_stays_under_1_5_gb(tmp_path):
    png = tmp_path / "huge.png"
    subprocess.run([sys.executable, "-c", MAKE_PNG, str(png)], check=True, timeout=300)
    done = subprocess.run(
        [sys.executable, "-c", DECODE_A_CHUNK, str(png)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT / "spark_jobs",  # as a worker imports fruitspark: from the jobs' package
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1])
    print(f"peak resident memory: {peak_mb} MB")
    assert peak_mb < PEAK_LIMIT_MB
