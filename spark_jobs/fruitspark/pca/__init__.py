"""pca: standardize one model's features and keep the principal components (entry script:
spark_jobs/fruits_pca.py; arguments: fruitspark.pca.arguments).

A run's cost follows the day, not history. The fit comes from sufficient statistics (count,
mean, centred co-moment) kept beside the features per day and rolled up per month and year
(history); only the days whose features changed are read. A new version, all history
re-projected, is published only when a refit is due (policy): the first run, --mode full, a
changed request, k that would change, drift of the kept variance, or age. Otherwise the
changed days are projected with the published model and appended to its version (load).
Either way _LATEST is replaced last, so a run that fails or is killed leaves the published
version, and what its manifest names, intact. Nothing is written when the input has no rows
or k is larger than the feature size.

moments (the statistics, plain numpy), history (where they are kept), extract (the rows
that count), maths (the fit), policy (when to refit), load (rows, models, reports, the
manifest), and the job that runs them: one module each.
"""
