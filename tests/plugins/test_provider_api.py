"""The project's operators and sensors use the Amazon provider (and Airflow) through their
public API only: no private member a base class defines is called, read or overridden.

ruff's SLF001 (on for dags/ and plugins/) catches another object's private members
(`hook._x`); it cannot see an inherited one reached through self (`self._check_key`), which
is what this test looks for.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap

import pytest

import fruit_pipeline


def private_names_in(source: str) -> set[str]:
    """Private names a class body uses through self, or defines as methods."""
    names = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
    return {name for name in names if name.startswith("_") and not name.endswith("__")}


def library_private_names(cls: type) -> set[str]:
    """The private members cls's Airflow (and provider) bases define: class attributes and
    methods, and what their code sets or reads through self."""
    names: set[str] = set()
    for base in cls.__mro__[1:]:
        if not base.__module__.startswith("airflow"):
            continue
        names |= {name for name in vars(base) if name.startswith("_") and not name.endswith("__")}
        try:
            names |= private_names_in(inspect.getsource(base))
        except (OSError, TypeError):  # a base without Python source
            continue
    return names


def inherited_private_uses(cls: type) -> set[str]:
    return private_names_in(inspect.getsource(cls)) & library_private_names(cls)


def project_classes() -> list[type]:
    found = []
    for module_info in pkgutil.iter_modules(fruit_pipeline.__path__):
        module = importlib.import_module(f"fruit_pipeline.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and any(
                base.__module__.startswith("airflow") for base in cls.__mro__[1:]
            ):
                found.append(cls)
    return found


def test_the_project_subclasses_the_providers_operators_and_sensors():
    names = {cls.__name__ for cls in project_classes()}
    assert {
        "NewImagesSensor",
        "RetrySafeEmrCreateJobFlowOperator",
        "RetrySafeEmrAddStepsOperator",
        "ExplainedStepSensor",
    } <= names


@pytest.mark.parametrize("cls", project_classes(), ids=lambda cls: cls.__name__)
def test_no_project_class_uses_a_private_member_of_its_library_bases(cls):
    assert inherited_private_uses(cls) == set()


def test_the_check_sees_an_inherited_private_call():
    """The sensor once called the provider's private S3KeySensor._check_key."""
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    class LeakySensor(S3KeySensor):
        def poke(self, context):
            return self._check_key(self.bucket_key, context)

    assert inherited_private_uses(LeakySensor) == {"_check_key"}
