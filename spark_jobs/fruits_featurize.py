"""spark-submit's entry point for featurize: fruitspark.featurize (docs/jobs.md)."""

import sys

from fruitspark.featurize.job import main

if __name__ == "__main__":
    sys.exit(main())
