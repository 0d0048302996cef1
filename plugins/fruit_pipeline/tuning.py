"""The pipeline's tuning: values chosen here, each with its reason, not settings.

A deployer sets where things are and who may touch them (fruit_pipeline.config, 12
FRUITS_* settings). How the pipeline behaves within that is code: a change here is a
reviewed commit, tested like the rest. The CNN, the PCA size, the mode and the cluster's
core nodes are per run: the DAG's params.
"""

from __future__ import annotations

from datetime import timedelta

# The release the jobs are tested against: Spark 3.5; the bootstrap adds Python 3.11.
EMR_RELEASE = "emr-7.9.0"

# The primary runs the driver, and the executors too on a single-node cluster: 4 vCPUs,
# 16 GiB hold PCA's driver-side work at 1,000,000 rows (make bench-pca).
PRIMARY_INSTANCE_TYPE = "m5.xlarge"
# Core nodes when the run's core_instance_type param is empty: 8 vCPUs a node halves the
# start-ups paid for a given featurize rate, against 4.
CORE_INSTANCE_TYPE = "m5.2xlarge"
# The core_instance_count param's maximum, and the automatic sizing's cap: a day that needs
# more than 10 core nodes is an exception someone should look at (the log says so).
MAX_CORE_NODES = 20
AUTOMATIC_MAX_CORE_NODES = 10
# The automatic sizing adds core nodes until featurize and PCA take at most this: a day's
# output by the morning, at most 20 minutes of billed cluster beyond the start-up.
TARGET_FEATURIZE_MINUTES = 20.0
# Spot core nodes fall back to on-demand after this long without capacity: the run waits
# at most as long as a day's work.
SPOT_TIMEOUT_MINUTES = 20

# EMR's auto-termination: the safety net behind the teardown, for a cluster whose run was
# killed, paused or stalled. A run adds its steps as soon as its cluster is up, and
# terminates it as soon as they end: the cluster idles for seconds, never 15 minutes.
IDLE_TIMEOUT_SECONDS = 15 * 60
# The steps' whole run, within dagrun_timeout.
STEPS_TIMEOUT = timedelta(hours=10)
DAGRUN_TIMEOUT = timedelta(hours=12)

# Every task calls AWS and retries 3 times, from Airflow's [core] default_task_retry_delay,
# doubling up to this: a throttled or briefly unreachable API recovers within it.
AWS_RETRIES = 3
MAX_RETRY_DELAY = timedelta(minutes=10)
# The teardown's cost record waits this long for the cluster's end (terminating takes a
# minute or two on EMR).
CLUSTER_END_POLL_SECONDS = 15
CLUSTER_END_MAX_POLLS = 120
