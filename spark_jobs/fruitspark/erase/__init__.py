"""erase: apply the pending erasure requests (entry script: spark_jobs/fruits_erase.py;
arguments: fruitspark.erase.arguments; the request layout: fruits_contract.erasure).

For each request, in an order that a killed run can resume: its counts are measured and
recorded first (applied/<id>.json), then the rows of its images are removed from the
published PCA versions (and the older versions pruned), from featurize's rejections and from
the features of every model and ingest date, and last every version of the images is
deleted. Only the partitions that hold an erased path are rewritten, found through PCA's
path index (fruitspark.pca.paths); PCA's statistics follow the rewritten partitions by
their fingerprints. Logs name requests by id and give counts, never a key.

requests (parse and record them, boto3), images (their versions, boto3), rows (the
datasets' rows, Spark), pca (the published versions) and the job: one module each.
"""
