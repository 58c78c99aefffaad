"""Every exception class defined in the harness is a HarnessError (found by importing every module),
and the usage errors — exit 2 — are told apart from failed runs by class alone. A stop by signal
is no error: it is a KeyboardInterrupt, so that no ``except Exception`` can swallow it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import harness
from harness.errors import HarnessError, ScenarioError, TargetError, UsageError


def harness_error_classes() -> list[type[BaseException]]:
    """Exception classes defined (not merely imported) in any module of the harness package."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(harness.__path__, "harness."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


CLASSES = harness_error_classes()


def test_the_walk_finds_the_classes_of_every_package() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"ScenarioError", "PersonaError", "ApiError", "RecognizerError", "ScenarioFailed"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_error_class_is_a_harness_error(cls: type[BaseException]) -> None:
    if issubclass(cls, KeyboardInterrupt):
        assert not issubclass(cls, Exception)
        return
    assert issubclass(cls, HarnessError)


@pytest.mark.parametrize("name", ["ScenarioError", "TargetError", "PersonaError"])
def test_bad_input_is_a_usage_error(name: str) -> None:
    (cls,) = [cls for cls in CLASSES if cls.__name__ == name]
    assert issubclass(cls, UsageError)


def test_scenario_errors_keep_every_problem() -> None:
    error = ScenarioError("a.yaml:1:1: first (and 1 more)", problems=["first", "second"])
    assert error.problems == ["first", "second"]
    assert ScenarioError("one").problems == ["one"]
    assert not issubclass(TargetError, ScenarioError)
