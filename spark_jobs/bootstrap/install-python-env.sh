#!/bin/bash
# EMR bootstrap action, run as hadoop on every node before Spark starts. It makes
# /opt/fruits/env, the Python that Spark's driver and executors run (the cluster's spark-env):
# a venv of Python 3.11 from Amazon Linux's own repository (EMR 7's default is 3.9), holding
# the packages scripts.deploy packed from uv.lock's emr group for this node's architecture.
# Nothing is installed from a package index.
#   install-python-env.sh s3://<artifacts>/node-env/<architecture>/<sha256>.tar.gz ...
# One archive per architecture (x86_64, aarch64): a node takes its own, named by its SHA-256,
# and checks it.
# FRUITS_NODE_ROOT: where the node's file system starts. Unset on EMR; the local EMR sets it
# to the node's sandbox (docs/local-aws.md).
set -euo pipefail

fail() { echo "fruits bootstrap: $*" >&2; exit 1; }

root="${FRUITS_NODE_ROOT:-}"
architecture="$(uname -m)"
archive_uri=""
for uri in "$@"; do
    case "$uri" in */"$architecture"/*.tar.gz) archive_uri="$uri" ;; esac
done
[ -n "$archive_uri" ] || fail "no environment archive for this node's architecture ($architecture) in: $*"
expected="$(basename "$archive_uri" .tar.gz)"

sudo dnf install -y -q python3.11

download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
aws s3 cp --only-show-errors "$archive_uri" "$download/env.tar.gz"
actual="$(sha256sum "$download/env.tar.gz" | cut -d ' ' -f 1)"
[ "$actual" = "$expected" ] \
    || fail "$archive_uri has SHA-256 $actual, not $expected: deploy again (python -m scripts.deploy)"

# Unpacked beside its final place, then renamed: a node never sees half an environment, and
# where environments are kept by digest (the local EMR), two nodes unpack the same one safely.
envs="$root/opt/fruits/envs"
sudo install -d -o "$(id -un)" "$envs"
if [ ! -d "$envs/$expected" ]; then
    unpacking="$(mktemp -d "$envs/.unpacking-XXXXXX")"
    chmod 755 "$unpacking"  # YARN's containers read it as another user
    python3.11 -m venv --without-pip "$unpacking"
    tar -xzf "$download/env.tar.gz" -C "$unpacking/lib/python3.11/site-packages"
    mv -T "$unpacking" "$envs/$expected" 2>/dev/null || rm -rf "$unpacking"
fi
sudo ln -sfn "envs/$expected" "$root/opt/fruits/env"

# What the steps import, from the environment alone (-I: no user site, no PYTHON* variables).
"$root/opt/fruits/env/bin/python" -I -c "import onnxruntime, PIL, pillow_heif, pyarrow, pandas, matplotlib; print('fruits bootstrap: environment $expected ok')"
