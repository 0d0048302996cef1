"""What the Airflow side, the Spark jobs, scripts.deploy and the local AWS must agree on, in
one place and standard library only: the CNNs, the image-file rules, the jobs, the artifacts,
the output layout and the datasets' schemas.

It lives in plugins/, so an Airflow with only dags/ and plugins/ (MWAA, a plain deploy)
imports it; scripts.deploy ships it to EMR inside the jobs' package (fruitspark.zip), and the
venv installs it (pyproject.toml) for the jobs run from a checkout.
"""
