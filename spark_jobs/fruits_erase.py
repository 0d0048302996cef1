"""spark-submit's entry point for erase: fruitspark.erase (docs/jobs.md)."""

import sys

from fruitspark.erase.job import main

if __name__ == "__main__":
    sys.exit(main())
