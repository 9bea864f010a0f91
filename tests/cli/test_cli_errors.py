"""One error -> message -> exit status mapping for every command (shopsphere_cli.errors)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from api.client.base import CommerceError
from policies.registry import PolicyParameterError
from scenarios.errors import Problem, ScenarioError
from shopsphere_cli.errors import EXIT_USAGE, message_for, user_errors
from twin.runner import RunError


def _app(exc: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        with user_errors():
            raise exc

    @app.command()
    def other() -> None:  # a second command keeps typer from collapsing to a single one
        pass

    return app


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ScenarioError([Problem("seed", "-1 is out of range (allowed: >= 0)")], "x.yaml"), "seed"),
        (RunError("commerce.database '/nope/x.db': folder '/nope' does not exist"), "/nope"),
        (PolicyParameterError("base_stock must be >= 0.0, got -5"), "got -5"),
        (CommerceError("conflict", "sku SKU1 exists"), "refused a call"),
        (FileNotFoundError(2, "No such file or directory", "/missing/out"), "/missing/out"),
    ],
)
def test_each_package_error_root_exits_2_with_its_message_and_no_traceback(
    exc: BaseException, expected: str
) -> None:
    result = CliRunner().invoke(_app(exc), ["boom"])
    assert result.exit_code == EXIT_USAGE
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert expected in result.output
    assert result.output.startswith("error: ")


def test_a_bug_is_not_disguised_as_a_user_error() -> None:
    assert message_for(KeyError("x")) is None
    result = CliRunner().invoke(_app(KeyError("x")), ["boom"])
    assert isinstance(result.exception, KeyError)


def test_validation_errors_name_the_field_and_the_value() -> None:
    from pydantic import BaseModel, ValidationError

    class M(BaseModel):
        port: int

    with pytest.raises(ValidationError) as info:
        M.model_validate({"port": "eighty"})
    text = message_for(info.value)
    assert text is not None and "port" in text and "'eighty'" in text


def test_a_broken_twin_invariant_is_a_bug_not_a_user_error() -> None:
    from twin.errors import TwinConfigError, TwinInvariantError

    assert message_for(TwinInvariantError("ledger disagrees")) is None
    assert message_for(TwinConfigError("days 0 must be >= 1")) == "days 0 must be >= 1"
    assert isinstance(RunError("x"), TwinConfigError.__mro__[1])  # RunError is a TwinError
