"""The DAG's shape: the provider's five operators in order, three small tasks for the side
effects around them, the teardowns, the schedule."""

from __future__ import annotations

import shutil

import pendulum
import pytest
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

from fruit_pipeline.assets import OUTPUTS_ALIAS, features_asset, pca_asset
from fruit_pipeline.config import load_config
from tests.airflow_env import ROOT, run_bare_python

PROVIDER_OPERATORS = {
    "wait_for_new_images": S3KeySensor,
    "create_emr_cluster": EmrCreateJobFlowOperator,
    "add_spark_steps": EmrAddStepsOperator,
    "watch_spark_steps": EmrStepSensor,
    "terminate_emr_cluster": EmrTerminateJobFlowOperator,
}
# Each task's upstream tasks: the chain, and the XComArgs each one reads.
UPSTREAM = {
    "wait_for_new_images": set(),
    "plan_cluster": {"wait_for_new_images"},
    "create_emr_cluster": {"plan_cluster"},
    "add_spark_steps": {"plan_cluster", "create_emr_cluster"},
    "watch_spark_steps": {"add_spark_steps"},
    "publish_outputs": {"plan_cluster", "add_spark_steps", "watch_spark_steps"},
    "terminate_emr_cluster": {"create_emr_cluster", "add_spark_steps", "watch_spark_steps"},
    "record_cost": {"plan_cluster", "create_emr_cluster", "terminate_emr_cluster"},
}
# What Airflow clears with each task (partial_subset, as the UI, the REST API and
# `airflow tasks clear` select): alone, and with its downstream tasks.
EVERYTHING_FROM_CREATE = {
    "create_emr_cluster",
    "add_spark_steps",
    "watch_spark_steps",
    "publish_outputs",
    "terminate_emr_cluster",
    "record_cost",
}
TEARDOWNS = {"terminate_emr_cluster", "record_cost"}
CLEARED_WITH = {
    "create_emr_cluster": ({"create_emr_cluster", *TEARDOWNS}, EVERYTHING_FROM_CREATE),
    "add_spark_steps": ({"add_spark_steps", "terminate_emr_cluster"}, EVERYTHING_FROM_CREATE),
    "watch_spark_steps": (EVERYTHING_FROM_CREATE - {"publish_outputs"}, EVERYTHING_FROM_CREATE),
    "publish_outputs": ({"publish_outputs"}, {"publish_outputs"}),
    "terminate_emr_cluster": ({"terminate_emr_cluster"}, TEARDOWNS),
    "record_cost": ({"record_cost"}, {"record_cost"}),
}


def test_dags_holds_exactly_one_dag_and_it_loads_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids == ["fruit_features"]


def test_the_five_operators_and_three_small_tasks_wired_in_order(dag):
    assert {task_id: dag.get_task(task_id).upstream_task_ids for task_id in dag.task_ids} == (
        UPSTREAM
    )
    for task_id, operator_class in PROVIDER_OPERATORS.items():
        assert isinstance(dag.get_task(task_id), operator_class)
    terminate = dag.get_task("terminate_emr_cluster")
    assert type(terminate) is EmrTerminateJobFlowOperator, "the provider's, as it is"
    small = [task_id for task_id in UPSTREAM if task_id not in PROVIDER_OPERATORS]
    assert all(dag.get_task(task_id).task_type == "_PythonDecoratedOperator" for task_id in small)


@pytest.mark.parametrize("task_id", CLEARED_WITH)
def test_a_clear_that_starts_a_cluster_adds_the_steps_to_it(dag, task_id):
    """Whatever Airflow clears with a task: a new cluster always gets the run's steps, the
    watch always the steps of the cluster it watches, and publish_outputs alone runs alone.
    The only selection that has no create_emr_cluster but add_spark_steps is the step task
    cleared alone: docs/operations.md says what it does."""
    from airflow.serialization.serialized_objects import DagSerialization

    scheduled = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    selected = tuple(
        set(
            scheduled.partial_subset(
                task_ids=[task_id], include_downstream=downstream, include_upstream=False
            ).task_dict
        )
        for downstream in (False, True)
    )
    assert selected == CLEARED_WITH[task_id]
    for tasks in selected:
        if "create_emr_cluster" in tasks and tasks != CLEARED_WITH["create_emr_cluster"][0]:
            assert "add_spark_steps" in tasks


def test_the_plan_reaches_the_create_and_add_steps_requests_as_xcom_args(dag):
    """No task id in a template string: the dependencies are the XComArgs'."""
    for task_id in ("create_emr_cluster", "add_spark_steps", "record_cost"):
        assert "plan_cluster" in dag.get_task(task_id).upstream_task_ids
    for task in dag.tasks:
        for field in task.template_fields:
            assert "xcom_pull" not in repr(getattr(task, field, None)), (task.task_id, field)


def test_terminate_and_the_cost_record_are_teardowns_of_create(dag):
    assert {task.task_id for task in dag.tasks if task.is_setup} == {
        "create_emr_cluster",
        "add_spark_steps",
    }
    assert {task.task_id for task in dag.tasks if task.is_teardown} == TEARDOWNS


def test_both_sensors_are_deferrable_and_waiting_for_new_images_soft_fails(dag):
    waiting = dag.get_task("wait_for_new_images")
    assert waiting.deferrable
    assert waiting.soft_fail
    assert dag.get_task("watch_spark_steps").deferrable


def test_daily_runs_have_a_real_data_interval(dag):
    interval = dag.timetable.infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 11, 21, tz="UTC")
    )
    assert interval.start == pendulum.datetime(2026, 11, 20, tz="UTC")
    assert interval.end == pendulum.datetime(2026, 11, 21, tz="UTC")
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout is not None


def test_every_task_calls_aws_and_retries_with_backoff(dag):
    """The sensors too: Airflow 3.3 can fail a resumed deferred task (apache/airflow#72716)."""
    for task_id in dag.task_ids:
        task = dag.get_task(task_id)
        assert task.retries >= 1
        assert task.retry_exponential_backoff


def test_the_dag_parses_with_only_dags_and_plugins_and_imports_nothing_heavy(tmp_path):
    """As MWAA or a plain Airflow deploys it: copies of dags/ and plugins/, no spark_jobs/."""
    for folder in ("dags", "plugins"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    code = (
        "import runpy, sys; "
        f"dag = runpy.run_path({str(tmp_path / 'dags' / 'fruit_features.py')!r}); "
        "print(dag['DAG_ID'], sorted(m for m in ('tensorflow', 'keras', 'pyspark', 'torch', "
        "'fruitspark') if m in sys.modules))"
    )
    done = run_bare_python([tmp_path / "plugins", tmp_path / "dags"], code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "fruit_features []"


def test_the_example_consumer_loads_beside_it_scheduled_on_its_pca_asset(dag, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    for dag_file in (ROOT / "dags/fruit_features.py", ROOT / "docs/examples/fruit_pca_consumer.py"):
        (tmp_path / dag_file.name).symlink_to(dag_file)
    both = DagBag(dag_folder=str(tmp_path))
    assert both.import_errors == {}
    consumer = both.dags["fruit_pca_consumer"]
    # The events go through an alias: a run records only those of the assets it changed.
    assert dag.get_task("publish_outputs").outlets == [OUTPUTS_ALIAS]
    config = load_config()
    assert pca_asset(config).uri == "s3://fruits-data/pca"
    assert features_asset(config).uri == "s3://fruits-data/features"
    assert list(consumer.timetable.asset_condition.objects) == [pca_asset(config)]
