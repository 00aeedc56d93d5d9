"""MLflow's artifact proxy on a real collector: the stock client's MLmodel upload round-trips, a
directory lists what is under it, and a path that climbs out is refused."""

from __future__ import annotations

import uuid

import httpx

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def test_an_upload_reads_back_and_lists_under_its_directory(api: httpx.Client) -> None:
    root = f"7/models/m-{uuid.uuid4().hex}/artifacts"
    put = api.put(
        f"{ARTIFACTS}/{root}/MLmodel", content=b"artifact_path: model\n", headers={"content-type": "text/plain"}
    )
    assert put.status_code == 200, put.text
    api.put(f"{ARTIFACTS}/{root}/sub/a.txt", content=b"a")
    assert api.get(f"{ARTIFACTS}/{root}/MLmodel").content == b"artifact_path: model\n"
    assert api.get(ARTIFACTS, params={"path": root}).json() == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 21}, {"path": "sub", "is_dir": True}]
    }
    assert api.get(ARTIFACTS, params={"path": f"{root}/none"}).json() == {}


def test_missing_and_climbing_paths_are_refused(api: httpx.Client) -> None:
    missing = api.get(f"{ARTIFACTS}/nothing/here")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    climbing = api.put(f"{ARTIFACTS}/a/%2E%2E/b", content=b"x")
    assert climbing.status_code == 400 and climbing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
