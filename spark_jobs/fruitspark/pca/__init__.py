"""pca: standardize one model's features and keep the principal components (entry script:
spark_jobs/fruits_pca.py; arguments: fruitspark.pca.arguments).

Each run publishes a new version, <output>/v=<UTC timestamp>/, holding the rows (path, label,
pca), _model/ (the Spark ML PipelineModel, and pca.npz for numpy alone) and _report/
(report.json and two figures). Only once it is complete does <output>/_LATEST name it, so a
run that fails or is killed leaves the previous version published and intact. Nothing is
written when the input has no rows or k is larger than the feature size.

Memory stays flat as rows grow: nothing is cached; each pass over the features (statistics,
scaler, covariance, projection) streams them, and the covariance is one n×n aggregate.

extract (the latest features of each image), maths (the fit), load (the version, its model
and report), and the job that runs them: one module each.
"""
