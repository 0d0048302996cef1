"""The commands a local EMR node's bootstrap scripts find in place of Amazon Linux's:

    aws s3 cp [--only-show-errors|--quiet] SOURCE DESTINATION   (one s3:// side, this S3)
    dnf install [-y] [-q] PACKAGE...   (only what this machine already has: the node has no
                                        package repository)

Each fails as the real one does: a non-zero exit and its error on stderr, which the local
EMR reports as the bootstrap's failure (localaws.node).
"""

from __future__ import annotations

import shutil
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from localaws.staging import split_uri

# The packages a node may install, and the command this machine must have for each.
MACHINE_PACKAGES = {"python3.11": "python3.11"}
QUIET_OPTIONS = ("--only-show-errors", "--quiet", "--no-progress")
# One GET per download, where the real CLI sends ranged GETs in parallel: moto reads the whole
# object for each range, so a 180 MB environment archive cost the local S3 2.1 CPU-s in 23
# ranges and 0.1 CPU-s in one GET.
WHOLE_OBJECT = TransferConfig(multipart_threshold=2**40, use_threads=False)


def aws(arguments: list[str]) -> int:
    operands = [argument for argument in arguments if argument not in QUIET_OPTIONS]
    if operands[:2] != ["s3", "cp"] or len(operands) != 4:
        print(
            f"localaws aws: only `aws s3 cp SOURCE DESTINATION`, not {arguments}", file=sys.stderr
        )
        return 2
    source, destination = operands[2:]
    s3 = boto3.client("s3")  # this S3: AWS_ENDPOINT_URL and the credentials come from the node
    try:
        if source.startswith("s3://"):
            s3.download_file(*split_uri(source), destination, Config=WHOLE_OBJECT)
        elif destination.startswith("s3://"):
            s3.upload_file(source, *split_uri(destination))
        else:
            print("localaws aws: one side of s3 cp must be s3://", file=sys.stderr)
            return 2
    except ClientError as error:
        print(f"fatal error: {error}", file=sys.stderr)
        return 1
    return 0


def dnf(arguments: list[str]) -> int:
    if not arguments or arguments[0] != "install":
        print(f"localaws dnf: only `dnf install`, not {arguments}", file=sys.stderr)
        return 2
    for package in (argument for argument in arguments[1:] if not argument.startswith("-")):
        command = MACHINE_PACKAGES.get(package)
        if command is None or shutil.which(command) is None:
            print(f"Error: Unable to find a match: {package}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str]) -> int:
    command, *arguments = argv
    return {"aws": aws, "dnf": dnf}[command](arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
