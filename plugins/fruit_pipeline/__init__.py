"""Airflow-side code of the fruit_features DAG: configuration, EMR request builders, sensor."""
