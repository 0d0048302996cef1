#!/bin/bash
# EMR bootstrap action, run as hadoop on every node before Spark starts:
# Python 3.11 (EMR 7's default is 3.9) and what the steps import (uv.lock's emr group), exactly
# as locked: ONNX Runtime, no TensorFlow.
#   install-python-requirements.sh s3://<artifacts>/requirements-emr.txt
set -euo pipefail

requirements_uri="$1"
sudo dnf install -y -q python3.11 python3.11-pip
aws s3 cp --only-show-errors "$requirements_uri" /tmp/requirements-emr.txt
# Hashes and --no-deps: exactly the exported lock, nothing resolved on the node.
sudo python3.11 -m pip install --quiet --require-hashes --no-deps -r /tmp/requirements-emr.txt
python3.11 -c "import onnxruntime, PIL, pillow_heif, pyarrow, pandas, matplotlib; print('fruits bootstrap: ok')"
