"""What the Airflow side and the Spark jobs must agree on: standard library only.

It lives in plugins/, so an Airflow with only dags/ and plugins/ (MWAA, a plain deploy)
imports it; scripts.deploy ships it to EMR inside the jobs' package (fruitspark.zip), and the
venv installs it (pyproject.toml) for the jobs run from a checkout.
"""
