"""Safe defaults: loopback without auth works as before; beyond loopback without an authenticator
the collector refuses to start and says how to add a user; a bad ``auth`` reference names its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.collector.auth.team import CONFIG


def _validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "annotrace.collector", "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _team_config(tmp_path: Path) -> str:
    return CONFIG.format(db=tmp_path / "a.duckdb", spool=tmp_path / "spool")


def test_an_open_port_beyond_loopback_is_refused_with_how_to_add_a_user(tmp_path: Path) -> None:
    text = _team_config(tmp_path).replace(
        'web: {endpoint: "127.0.0.1:0", auth: {authenticator: [bearertokenauth, basicauth]}}',
        'web: {endpoint: "0.0.0.0:0"}',
    )
    done = _validate(tmp_path, text)
    assert done.returncode == 2
    assert "extensions::web::endpoint: 0.0.0.0:0 can be reached from other machines" in done.stderr
    assert "annotrace users add alice --role admin" in done.stderr
    served = subprocess.run(
        [sys.executable, "-m", "annotrace.collector", "serve", "--config", str(tmp_path / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2 and "annotrace users add" in served.stderr


def test_beyond_loopback_with_an_authenticator_is_fine(tmp_path: Path) -> None:
    text = _team_config(tmp_path).replace('"127.0.0.1:0"', '"0.0.0.0:0"')
    done = _validate(tmp_path, text)
    assert done.returncode == 0, done.stderr


def test_an_auth_reference_must_name_an_enabled_authenticator(tmp_path: Path) -> None:
    unlisted = _team_config(tmp_path).replace(
        "extensions: [web, spool, bearertokenauth, basicauth]", "extensions: [web, spool, bearertokenauth]"
    )
    done = _validate(tmp_path, unlisted)
    assert done.returncode == 2
    assert (
        'extensions::web::auth::authenticator: references extension "basicauth" which is configured but not '
        "listed in service::extensions"
    ) in done.stderr
    not_auth = _team_config(tmp_path).replace("authenticator: bearertokenauth}", "authenticator: spool}", 1)
    done = _validate(tmp_path, not_auth)
    assert done.returncode == 2
    assert (
        'receivers::otlp::protocols::grpc::auth::authenticator: extension "spool" is not an authenticator'
        in done.stderr
    )
