"""Code shared by the Spark jobs; shipped to executors as a zip (see fruitspark.session)."""
