"""The Spark jobs, fruitspark.featurize and fruitspark.pca, and the code they share; shipped
to executors as a zip with fruits_contract (see fruitspark.session)."""
