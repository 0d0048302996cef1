"""A local AWS for S3 and EMR whose EMR really runs spark-submit steps on local Spark."""
