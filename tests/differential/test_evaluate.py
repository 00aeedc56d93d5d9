"""``mlflow.genai.evaluate`` and traces linked to runs: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_evaluate_two_rows_with_two_scorers(differential: Differential) -> None:
    stock = differential.assert_same("evaluate.py", "evaluate_two_rows")
    assert stock["run_metrics"] == {"exact_match/mean": 0.5, "length/mean": 17.0}
    assert [len(t["assessments"]) for t in stock["traces"]] == [3, 3]


def test_evaluate_traces_have_their_spans_at_once(differential: Differential) -> None:
    stock = differential.assert_same("evaluate.py", "evaluate_trace_spans")
    assert [len(t["spans"]) for t in stock["traces"]] == [1, 1]


def test_search_traces_by_run_finds_traces_made_in_and_linked_to_it(differential: Differential) -> None:
    stock = differential.assert_same("evaluate.py", "traces_of_a_run")
    assert stock["before"] == ["inside"] and stock["after"] == stock["run_filter"] == ["inside", "outside"]


def test_evaluate_a_predict_fn_under_an_active_model(differential: Differential) -> None:
    stock = differential.assert_same("evaluate.py", "evaluate_predict_fn_with_active_model")
    assert stock["by_model"] == 2 and stock["model_metrics"] == [["exact_match/mean", 0.5], ["length/mean", 17.0]]
