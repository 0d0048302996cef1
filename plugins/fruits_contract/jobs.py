"""The Spark jobs: their entry scripts, and which of their arguments each reads itself.

A job reads the URIs of `direct_reads` itself, not through Hadoop (featurize lists and reads
its images with pyarrow's filesystems, one by one; erase uses boto3): the local AWS gives
those the bucket's own S3 endpoint instead of a staged copy (localaws.staging).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobSpec:
    name: str
    direct_reads: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        """The entry script's file name, in spark_jobs/ and under the artifacts' jobs/.
        Prefixed: spark-submit puts the script's folder on sys.path, where a plain `pca.py`
        would shadow any module of that name."""
        return f"fruits_{self.name}.py"


# erase deletes image versions and reads its requests with boto3: S3 objects, not a dataset.
ERASE = JobSpec("erase", direct_reads=("--images", "--requests"))
FEATURIZE = JobSpec("featurize", direct_reads=("--input",))
PCA = JobSpec("pca")
JOBS: dict[str, JobSpec] = {job.name: job for job in (ERASE, FEATURIZE, PCA)}


def job_of_script(path: str) -> JobSpec | None:
    """The job whose entry script `path` (a file name, path or URI) is, if any."""
    name = path.rsplit("/", 1)[-1]
    return next((job for job in JOBS.values() if job.script == name), None)
