"""make demo: the real fruit_features DAG, offline, on a local AWS whose EMR runs the steps.

    python -m scripts.demo [--images DIR] [--classes 6] [--per-class 40] [--output demo-output]

1. generate a Fruits-like sample (or use --images, e.g. Fruits-360's Test/ folder);
2. start the local AWS (python -m localaws), deploy the artifacts, upload the images;
3. run `airflow dags test fruit_features` against it, through the real DAG and operators;
4. print a summary and save the PCA report's figures under --output;
5. stop what it started.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from fruits_contract.cnns import DEFAULT_CNN
from fruits_contract.image_files import IMAGE_EXTENSIONS, is_image
from fruits_contract.layout import REJECTED_FOLDER, partition
from localaws.airflow_runs import airflow, airflow_environment, asset_events, run_dag, task_lines
from localaws.client import REGION, client, latest_version, read_parquet
from localaws.process import LocalAws
from scripts.fruits_sample import generate
from scripts.seed_local import seed

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "fruits-demo"
MODEL = DEFAULT_CNN
# Left in every output folder the demo makes: only such a folder is ever emptied again.
MARKER = ".fruits-demo-output"
# What a demo wrote before it left the marker: such a folder is recognised by its entries.
UNMARKED_DEMO_ENTRIES = {
    "airflow.log",
    "airflow-home",
    "localaws.log",
    "localaws-work",
    "sample-images",
    "explained_variance.png",
    "pca_scatter.png",
}


class DemoRefused(SystemExit):
    """One clear line, before anything starts or is deleted."""

    def __init__(self, message: str) -> None:
        super().__init__(f"make demo: {message}")


def check_images(images: Path | None, output: Path) -> None:
    if images is None:
        return
    images = images.resolve()
    if not images.is_dir():
        raise DemoRefused(f"IMAGES={images} is not a folder")
    if images == output or output in images.parents:
        raise DemoRefused(f"IMAGES={images} is inside the output folder {output}, which is emptied")
    if not any(is_image(path.name) for path in images.rglob("*") if path.is_file()):
        raise DemoRefused(f"IMAGES={images} holds no image ({', '.join(IMAGE_EXTENSIONS)})")


def prepare_output(output: Path) -> None:
    """Empty the folder of an earlier demo; refuse any other non-empty folder."""
    if output.exists() and not output.is_dir():
        raise DemoRefused(f"--output {output} is a file")
    if output.is_dir() and any(output.iterdir()):
        entries = {path.name for path in output.iterdir()}
        if not (output / MARKER).is_file() and not entries <= UNMARKED_DEMO_ENTRIES:
            raise DemoRefused(
                f"--output {output} is not empty and was not made by the demo: "
                "choose another folder, or empty it yourself"
            )
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("made by `make demo`: emptied by the next demo\n")


def say(message: str) -> None:
    print(f"[demo {datetime.now():%H:%M:%S}] {message}", flush=True)


def summarize(
    s3, output: Path, uploaded: int, state: str, tasks: list[str], events: dict[str, dict]
) -> None:
    model_folder = partition("model", MODEL)
    features = read_parquet(s3, BUCKET, f"features/{model_folder}/")
    rejected = read_parquet(s3, BUCKET, f"features/{REJECTED_FOLDER}/{model_folder}/")
    report_prefix = latest_version(s3, BUCKET, f"pca/{model_folder}/") + "_report/"
    report_body = s3.get_object(Bucket=BUCKET, Key=report_prefix + "report.json")["Body"]
    report = json.loads(report_body.read())
    for name in ("explained_variance.png", "pca_scatter.png"):
        s3.download_file(BUCKET, report_prefix + name, str(output / name))

    print(f"\n=== fruit_features on the local AWS: run {state} ===")
    print(f"files uploaded:      {uploaded}")
    print(f"images featurized:   {len(features)} in {features['label'].nunique()} classes")
    print(f"images rejected:     {len(rejected)}")
    for row in rejected.itertuples():
        print(f"  - {'/'.join(row.path.rsplit('/', 2)[-2:])}: {row.reason}")
    print(
        f"PCA:                 k = {report['k']} components keep "
        f"{report['cumulative_variance'][-1]:.1%} of the variance ({report['rows']} rows)"
    )
    print("tasks:", *tasks, sep="\n")
    features_event, pca_event = events["fruit_features.features"], events["fruit_features.pca"]
    print(
        f"asset events:        fruit_features.features: {features_event['ingest_date']}, "
        f"{features_event['images_featurized']} featurized, "
        f"{features_event['images_rejected']} rejected"
    )
    print(f"                     fruit_features.pca: {pca_event['version']}, k = {pca_event['k']}")
    print(f"figures:             {output / 'explained_variance.png'}")
    print(f"                     {output / 'pca_scatter.png'}")
    print(f"logs:                {output}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, help="a folder of class folders of images")
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--output", type=Path, default=ROOT / "demo-output")
    args = parser.parse_args()
    started = time.monotonic()
    output = args.output.resolve()
    check_images(args.images, output)
    prepare_output(output)
    log = output / "airflow.log"

    images = args.images
    if images is None:
        images = output / "sample-images"
        generate(images, args.classes, args.per_class)
        say(f"generated {args.classes * args.per_class} Fruits-like images in {images}")

    with LocalAws(output / "localaws.log", on_step_event=lambda line: say(f"EMR: {line}")) as aws:
        say(f"local AWS (S3 + EMR) on {aws.endpoint}")
        s3 = client("s3", aws.endpoint)
        deployed, uploaded = seed(s3, BUCKET, REGION, images)
        say(f"deployed {len(deployed)} artifacts to s3://{BUCKET}/artifacts/")
        say(f"uploaded {uploaded} files to s3://{BUCKET}/images/")

        environment = airflow_environment(aws.endpoint, output / "airflow-home", BUCKET)
        airflow(environment, "db", "migrate", log=log)
        # The run of today's date covers today's uploads: it processes [today, tomorrow).
        run_date = datetime.now(UTC).strftime("%Y-%m-%d")
        say(f"airflow dags test fruit_features {run_date} (about a minute; log: {log})")
        state, tasks = run_dag(environment, run_date, log)
        if state != "success":
            print(f"\nthe run {state}:", *task_lines(tasks), f"see {log}", sep="\n")
            raise SystemExit(1)
        summarize(s3, output, uploaded, state, task_lines(tasks), asset_events(environment))
    say(f"done in {time.monotonic() - started:.0f}s; the local AWS is stopped")


if __name__ == "__main__":
    main()
