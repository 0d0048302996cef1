"""featurize: fruit photos -> CNN feature vectors, as Parquet (entry script:
spark_jobs/fruits_featurize.py; arguments: fruitspark.featurize.arguments).

Output: <output>/model=<cnn>/ingest_date=<date>/ with path, label, model_id, features,
<output>/_rejected/model=<cnn>/ingest_date=<date>/ with path, label, reason, and the run's
counts in <output>/_summary/model=<cnn>/ingest_date=<date>.json. A rerun replaces only its own
(model, ingest date); a run without a window rebuilds the whole model, each image under the
ingest date of its upload (its modification time's UTC day), as the daily runs file it.

extract (the listing), transform (the verdicts and the CNN), load (the partitions and the
summary), and the job that runs them: one module each.
"""
