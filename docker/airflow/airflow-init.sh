#!/usr/bin/env bash
# airflow-init: migrate the metadata database, then register the admin user from the environment.
#
# The UI logs in through Airflow's SimpleAuthManager, which reads its users from
# AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS and their passwords from the JSON file named by
# AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE. The password comes from .env and is
# written to that file only (mode 600), never to a log.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:?set AIRFLOW_ADMIN_USERNAME in .env}"
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?the compose file sets it}"

airflow db migrate

umask 077
python - <<'PYTHON'
import json
import os

with open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "w") as passwords:
    json.dump({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, passwords)
PYTHON
echo "airflow-init: database migrated; admin user '${AIRFLOW_ADMIN_USERNAME}' registered"
