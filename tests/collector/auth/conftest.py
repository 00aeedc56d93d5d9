"""One collector run for a team, shared by the tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.collector.auth.team import Team, start_team


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    running = start_team(tmp_path_factory.mktemp("team"), ("admin", "editor", "labeler", "labeler2", "viewer"))
    yield running
    code = running.collector.stop()
    assert code == 0, f"collector exited with {code}:\n{running.collector.log}"
