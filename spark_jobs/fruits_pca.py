"""spark-submit's entry point for pca: fruitspark.pca (docs/jobs.md)."""

import sys

from fruitspark.pca.job import main

if __name__ == "__main__":
    sys.exit(main())
