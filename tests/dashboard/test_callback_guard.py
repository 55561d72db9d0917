"""A forged Dash callback request (POST /_dash-update-component) is answered 400 with a JSON
reason, never an HTML 500 or a trace: wrong types, missing inputs, someone else's inputs,
bodies that are not a callback request. Through the test client on the real callbacks of the
app, and through a real server on both production paths."""
from __future__ import annotations

import http.client
import json
import os
import subprocess

import pytest

from app import create_app
from components import ids
from settings import Settings

from tests.support.dashboard import ROOT, closed_port, server_command, wait_until_serving


def app_client(sqlite_url, log_dir):
    client = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server.test_client()
    assert client.get("/").status_code == 200            # Dash sets its pages up on first use
    return client


def dependencies(client) -> list[dict]:
    return client.get("/_dash-dependencies").get_json()


def callback_of(deps: list[dict], input_id: str, prop: str) -> dict:
    """Returns the dependency of the (server-side) callback whose first input is ``input_id``.``prop``."""
    for dep in deps:
        first = dep["inputs"][0]
        if first["id"] == input_id and first["property"] == prop and \
                dep["clientside_function"] is None:
            return dep
    raise AssertionError(f"no callback reads {input_id}.{prop}")


def _outputs(output: str):
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in parts]
    return outs if output.startswith("..") else outs[0]


def body(dep: dict, values: dict | None = None) -> dict:
    """Returns the request the page sends for ``dep``: each input and state with its value
    from ``values`` ({(id, property): value}; None otherwise)."""
    values = values or {}

    def item(x):
        return {"id": x["id"], "property": x["property"],
                "value": values.get((x["id"], x["property"]))}
    first = dep["inputs"][0]
    return {"output": dep["output"], "outputs": _outputs(dep["output"]),
            "inputs": [item(x) for x in dep["inputs"]], "state": [item(x) for x in dep["state"]],
            "changedPropIds": [f"{first['id']}.{first['property']}"]}


def callback_drawing(deps: list[dict], output_id: str) -> dict:
    """Returns the dependency of the callback whose first output is ``output_id``."""
    for dep in deps:
        if dep["output"].lstrip(".").startswith(output_id + "."):
            return dep
    raise AssertionError(f"no callback draws {output_id}")


RANGE = {"spec": {}, "start": "2024-09-01", "end": "2024-09-30", "nodes": None}
SHELL = {"range": RANGE, "version": 1, "mode": {"kiosk": False}}     # the overview's copy


def forged_requests(deps: list[dict]) -> dict[str, object]:
    """Returns forged bodies, by what is wrong with them, for several real callbacks."""
    date_range = callback_drawing(deps, ids.RANGE_STORE)
    graphs = callback_drawing(deps, ids.GRAPH_TRANSFERS)
    security = callback_drawing(deps, ids.SECURITY_FAILURES)
    live = callback_of(deps, ids.LIVE_INTERVAL, "n_intervals")
    pages = [d for d in deps if d["output"].startswith(".._pages_content")][0]
    picked = {(ids.RANGE_PICKER, "start_date"): "2024-09-01",
              (ids.RANGE_PICKER, "end_date"): "2024-09-30"}
    forged = {
        "a number for a date": body(date_range, {**picked, (ids.RANGE_PICKER, "start_date"): 20240901}),
        "a list for a date": body(date_range, {**picked, (ids.RANGE_PICKER, "end_date"): ["2024", 9, 30]}),
        "an object for a search": body(date_range, {(ids.URL, "search"): {"days": 7}}),
        "a number for a search": body(callback_of(deps, ids.URL, "search"), {(ids.URL, "search"): 7}),
        "text for a click count": body(live, {(ids.LIVE_INTERVAL, "n_intervals"): "3"}),
        "true for a click count": body(live, {(ids.LIVE_INTERVAL, "n_intervals"): True}),
        "a number for the overview's range": body(graphs, {(ids.OVERVIEW_RANGE, "data"): 5}),
        "an overview range of the wrong shape": body(graphs, {(ids.OVERVIEW_RANGE, "data"): {"range": {"start": [1]}}}),
        "a number for the range store": body(security, {(ids.RANGE_STORE, "data"): 5}),
        "a list for the range store": body(security, {(ids.RANGE_STORE, "data"): [RANGE]}),
        "a range store of numbers": body(security, {(ids.RANGE_STORE, "data"): {"start": 1, "end": 2}}),
        "a path not on this server": body(pages, {("_pages_location", "pathname"): "nowhere"}),
        "a number for a path": body(pages, {("_pages_location", "pathname"): 404}),
    }
    missing = body(date_range, picked)
    missing["inputs"] = missing["inputs"][:2]
    forged["missing inputs"] = missing
    swapped = body(graphs, {(ids.OVERVIEW_RANGE, "data"): SHELL})
    swapped["inputs"] = list(reversed(swapped["inputs"]))
    forged["inputs of another order"] = swapped
    other = body(graphs, {(ids.OVERVIEW_RANGE, "data"): SHELL})
    other["outputs"] = _outputs(live["output"])
    forged["the outputs of another callback"] = other
    forged["an output no callback has"] = {**body(graphs), "output": "nowhere.children"}
    forged["inputs that are not a list"] = {**body(graphs), "inputs": {"a": 1}}
    forged["an input without a property"] = {**body(graphs), "inputs": [{"id": "x"}]}
    forged["changedPropIds of numbers"] = {**body(graphs), "changedPropIds": [1, 2]}
    forged["a list"] = [1, 2, 3]
    forged["a number"] = 7
    forged["null"] = None
    return forged


def assert_400_json(status: int, content_type: str, text: str, what: str) -> None:
    assert status == 400, (what, status, text[:300])
    assert content_type.startswith("application/json"), (what, content_type)
    error = json.loads(text)["error"]
    assert error.startswith("callback request refused"), (what, error)
    assert "Traceback" not in text and "<html" not in text.lower(), what


def test_forged_requests_to_real_callbacks_answer_400_json(sqlite_url, log_dir):
    client = app_client(sqlite_url, log_dir)
    forged = forged_requests(dependencies(client))
    for what, request in forged.items():
        answer = client.post("/_dash-update-component", json=request)
        assert_400_json(answer.status_code, answer.content_type,
                        answer.get_data(as_text=True), what)
    assert len(forged) >= 20


def test_a_body_that_is_not_json_answers_400_json(sqlite_url, log_dir):
    client = app_client(sqlite_url, log_dir)
    for data, content_type in ((b"{not json", "application/json"), (b"\xff\xfe", "text/plain"),
                               (b"", "application/json")):
        answer = client.post("/_dash-update-component", data=data, content_type=content_type)
        assert_400_json(answer.status_code, answer.content_type,
                        answer.get_data(as_text=True), repr(data))


def test_the_requests_the_page_sends_are_still_served(sqlite_url, log_dir):
    """The checks take what the page sends: the same callbacks with right values answer."""
    client = app_client(sqlite_url, log_dir)
    deps = dependencies(client)
    graphs = callback_drawing(deps, ids.GRAPH_TRANSFERS)
    answer = client.post("/_dash-update-component",
                         json=body(graphs, {(ids.OVERVIEW_RANGE, "data"): SHELL}))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert ids.GRAPH_TRANSFERS in answer.get_json()["response"]
    live = callback_of(deps, ids.LIVE_INTERVAL, "n_intervals")
    answer = client.post("/_dash-update-component",
                         json=body(live, {(ids.LIVE_INTERVAL, "n_intervals"): 3}))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    search = callback_of(deps, ids.URL, "search")
    answer = client.post("/_dash-update-component",
                         json=body(search, {(ids.URL, "search"): "?days=7"}))
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)[:300]


def test_a_pattern_matching_request_is_served(sqlite_url, log_dir):
    """The users list's sort buttons are one ALL input: the page sends one item per button,
    each with its id as an object; the guard takes that, and still refuses a wrong type."""
    client = app_client(sqlite_url, log_dir)
    sort = next(d for d in dependencies(client) if d["output"] == f"{ids.USERS_SORT}.data")
    pattern = json.loads(sort["inputs"][0]["id"])
    buttons = [{"id": {**pattern, "key": key}, "property": "n_clicks", "value": clicks}
               for key, clicks in (("name", None), ("uploads", 1), ("bytes", None))]
    request = {"output": sort["output"], "outputs": _outputs(sort["output"]),
               "inputs": [buttons], "state": [{"id": ids.USERS_SORT, "property": "data",
                                               "value": None}],
               "changedPropIds": [json.dumps(buttons[1]["id"]) + ".n_clicks"]}
    answer = client.post("/_dash-update-component", json=request)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["response"][ids.USERS_SORT]["data"]["by"] == "uploads"
    buttons[1]["value"] = "1"
    answer = client.post("/_dash-update-component", json=request)
    assert answer.status_code == 400 and "n_clicks" in answer.get_json()["error"]


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_a_real_server_answers_forged_callbacks_400_json(kind, sqlite_url, log_dir, tmp_path):
    forged = forged_requests(dependencies(app_client(sqlite_url, log_dir)))
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir)}
    with (tmp_path / "server.log").open("wb") as output:
        proc = subprocess.Popen(server_command(kind, port, sqlite_url, log_dir), cwd=ROOT,
                                env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/")                    # Dash sets its pages up on first use
            conn.getresponse().read()
            for what, request in forged.items():
                conn.request("POST", "/_dash-update-component", body=json.dumps(request),
                             headers={"Content-Type": "application/json"})
                answer = conn.getresponse()
                assert_400_json(answer.status, answer.getheader("Content-Type"),
                                answer.read().decode(), what)
        finally:
            conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
