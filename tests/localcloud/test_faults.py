"""Fault injection: rules, the start-up spec, the middleware over real HTTP, the admin routes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudimages.localcloud.accounts import Accounts
from cloudimages.localcloud.db import Database
from cloudimages.localcloud.faults import (
    FaultInjector,
    FaultMiddleware,
    FaultRule,
    TaskOutcome,
    fault_admin_routes,
    parse_spec,
)
from cloudimages.localcloud.identity import Identity
from cloudimages.localcloud.settings import DEFAULT_ACCOUNTS


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, lifespan="off", log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def upload(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())), status_code=201)


def tiny_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v2/images", hello, methods=["GET"]),
            Route("/v1/upload", upload, methods=["PUT"]),
        ]
    )


@pytest.fixture(scope="module")
def injector() -> FaultInjector:
    return FaultInjector(seed=7)


@pytest.fixture(autouse=True)
def _no_leftover_faults(injector: FaultInjector) -> Iterator[None]:
    injector.clear()
    yield
    injector.clear()


@pytest.fixture(scope="module")
def images_url(injector: FaultInjector) -> Iterator[str]:
    with serve(FaultMiddleware(tiny_app(), injector, "images:DFW")) as url:
        yield url


@pytest.fixture(scope="module")
def files_url(injector: FaultInjector) -> Iterator[str]:
    with serve(FaultMiddleware(tiny_app(), injector, "files:DFW")) as url:
        yield url


# the middleware over real HTTP ---------------------------------------------------------


def test_no_rule_passes_requests_through(images_url: str) -> None:
    """Without rules the wrapped app answers as usual."""
    response = httpx.get(f"{images_url}/v2/images")
    assert response.status_code == 200
    assert response.text == "hello"
    assert "x-injected-fault" not in response.headers


def test_status_fault_answers_json_with_retry_after(
    injector: FaultInjector, images_url: str
) -> None:
    """A status rule answers its status, a JSON body and Retry-After, and names itself."""
    rule = injector.add(
        FaultRule(service="images:*", path="/v2/images*", status=503, retry_after=1)
    )
    response = httpx.get(f"{images_url}/v2/images")
    assert response.status_code == 503
    assert response.json() == {"message": "Injected fault", "code": 503}
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-injected-fault"] == rule.id


def test_status_fault_on_files_is_plain_text_and_reads_the_upload(
    injector: FaultInjector, files_url: str
) -> None:
    """Cloud Files answers in plain text, and a large upload still gets to see the 413."""
    injector.add(FaultRule(service="files:*", method="PUT", status=413, retry_after=0.25))
    response = httpx.put(f"{files_url}/v1/upload", content=b"x" * 4_000_000)
    assert response.status_code == 413
    assert response.headers["retry-after"] == "0.25"
    assert response.headers["content-type"].startswith("text/plain")
    assert "413" in response.text


def test_rule_for_another_service_method_or_path_does_not_fire(
    injector: FaultInjector, images_url: str
) -> None:
    """Service, method and path must all match."""
    injector.add(FaultRule(service="files:*"))
    injector.add(FaultRule(service="images:DFW", method="PUT"))
    injector.add(FaultRule(service="images:DFW", path="re:^/v1/.*$"))
    assert httpx.get(f"{images_url}/v2/images").status_code == 200
    assert all(rule.fired == 0 for rule in injector.rules())


def test_latency_delays_then_serves(injector: FaultInjector, images_url: str) -> None:
    """A latency rule adds its delay and then lets the app answer."""
    injector.add(FaultRule(action="latency", delay=0.4))
    started = time.monotonic()
    response = httpx.get(f"{images_url}/v2/images")
    assert response.status_code == 200
    assert response.text == "hello"
    assert time.monotonic() - started >= 0.4


def test_reset_drops_the_connection_without_a_response(
    injector: FaultInjector, images_url: str
) -> None:
    """A reset rule leaves the client with a transport error, not an HTTP status."""
    injector.add(FaultRule(action="reset", times=1))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{images_url}/v2/images")
    assert httpx.get(f"{images_url}/v2/images").status_code == 200


def test_reset_during_an_upload_is_a_transport_error(
    injector: FaultInjector, files_url: str
) -> None:
    """Resetting a PUT with a body also surfaces as a transport error."""
    injector.add(FaultRule(service="files:DFW", method="PUT", action="reset"))
    with pytest.raises(httpx.TransportError):
        httpx.put(f"{files_url}/v1/upload", content=b"x" * 1_000_000)


def test_reset_behind_a_send_wrapper_cuts_the_response_short(injector: FaultInjector) -> None:
    """Where the transport is out of reach, the response is started and cut off instead."""

    def wrapped(app: ASGIApp) -> ASGIApp:
        async def outer(scope: Scope, receive: Receive, send: Send) -> None:
            async def forward(message: Message) -> None:
                await send(message)

            await app(scope, receive, forward)

        return outer

    injector.add(FaultRule(action="reset"))
    app = wrapped(FaultMiddleware(tiny_app(), injector, "images:DFW"))
    with serve(app) as url, pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{url}/v2/images")


def test_times_exhausts_a_rule(injector: FaultInjector, images_url: str) -> None:
    """A rule with times=2 fails two requests, then stays in the list spent."""
    injector.add(FaultRule(status=500, times=2))
    statuses = [httpx.get(f"{images_url}/v2/images").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    (rule,) = injector.rules()
    assert (rule.times, rule.fired) == (0, 2)


# the injector --------------------------------------------------------------------------


def test_rate_zero_never_fires_and_rate_one_always_fires() -> None:
    """Rates 0 and 1 are certainties, not probabilities."""
    never = FaultInjector(seed=1)
    never.add(FaultRule(rate=0.0))
    always = FaultInjector(seed=1)
    always.add(FaultRule(rate=1.0))
    assert all(never.pick("images:DFW", "GET", "/") is None for _ in range(500))
    assert all(always.pick("images:DFW", "GET", "/") is not None for _ in range(500))


def test_seeded_rates_repeat_and_land_near_the_rate() -> None:
    """The same seed gives the same sequence of firings, near the configured rate."""

    def firings(seed: int) -> list[bool]:
        injector = FaultInjector(seed=seed)
        injector.add(FaultRule(rate=0.3))
        return [injector.pick("identity", "POST", "/v2.0/tokens") is not None for _ in range(1000)]

    assert firings(42) == firings(42)
    assert 200 < sum(firings(42)) < 400


def test_first_firing_rule_wins_and_ids_can_be_removed() -> None:
    """Rules are tried in order; remove() by id, KeyError for an unknown id."""
    injector = FaultInjector()
    first = injector.add(FaultRule(status=429))
    injector.add(FaultRule(status=500))
    picked = injector.pick("files:IAD", "get", "/v1/x")
    assert picked is not None
    assert picked.status == 429
    injector.remove(first.id or "")
    picked = injector.pick("files:IAD", "GET", "/v1/x")
    assert picked is not None
    assert picked.status == 500
    with pytest.raises(KeyError, match="fault-999"):
        injector.remove("fault-999")


def test_task_outcomes_are_consumed_by_type() -> None:
    """Task outcomes apply to their task type and run out after ``times``."""
    injector = FaultInjector()
    injector.add_task_outcome(TaskOutcome(task_type="import", code="396", times=1))
    injector.add_task_outcome(TaskOutcome(task_type="export", outcome="stuck"))
    failure = injector.next_task_outcome("import")
    assert failure is not None
    assert (failure.outcome, failure.code, failure.times) == ("failure", "396", 0)
    assert injector.next_task_outcome("import") is None
    for _ in range(3):
        stuck = injector.next_task_outcome("export")
        assert stuck is not None
        assert stuck.outcome == "stuck"


def test_invalid_rules_are_rejected() -> None:
    """Statuses outside 4xx/5xx, latency without delay and bad regexes are errors."""
    with pytest.raises(ValueError, match="status"):
        FaultRule(status=200)
    with pytest.raises(ValueError, match="delay"):
        FaultRule(action="latency")
    with pytest.raises(ValueError, match="does not compile"):
        FaultRule(path="re:(")
    with pytest.raises(ValueError, match="needs a code"):
        TaskOutcome(outcome="failure")


# the start-up spec ---------------------------------------------------------------------


def test_spec_from_the_docs_parses() -> None:
    """The documented example gives two HTTP rules and one task outcome."""
    spec = (
        "images:*:GET:/v2/images*=503@0.5,retry_after=1;"
        "files:DFW:PUT:*=reset@0.1; task:import=failure:396,times=1"
    )
    first, second, third = parse_spec(spec)
    assert isinstance(first, FaultRule)
    assert (first.service, first.method, first.path) == ("images:*", "GET", "/v2/images*")
    assert (first.action, first.status, first.rate, first.retry_after) == ("status", 503, 0.5, 1)
    assert isinstance(second, FaultRule)
    assert (second.service, second.method, second.action, second.rate) == (
        "files:DFW",
        "PUT",
        "reset",
        0.1,
    )
    assert third == TaskOutcome(task_type="import", outcome="failure", code="396", times=1)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("identity=429", {"service": "identity", "method": "*", "path": "*", "status": 429}),
        ("*:POST=500", {"service": "*", "method": "POST", "status": 500}),
        ("files:IAD=latency:2,times=3", {"action": "latency", "delay": 2.0, "times": 3}),
        ("files:DFW:PUT:*_segments/*=truncate", {"action": "truncate", "path": "*_segments/*"}),
        ("images:ORD:GET:re:^/v2/images/[^/]+$=404", {"path": "re:^/v2/images/[^/]+$"}),
        ("files:*:GET:/v1/a:b=503,rate=0.25", {"path": "/v1/a:b", "rate": 0.25}),
    ],
)
def test_spec_forms(spec: str, expected: dict[str, object]) -> None:
    """Method and path may be left out; paths may hold colons or be regexes."""
    (rule,) = parse_spec(spec)
    assert isinstance(rule, FaultRule)
    assert {key: getattr(rule, key) for key in expected} == expected


def test_spec_task_forms() -> None:
    """``task=stuck`` applies to every task type; messages ride along as options."""
    stuck, failure = parse_spec("task=stuck;task:export=failure:500,message=disk full")
    assert stuck == TaskOutcome(task_type="*", outcome="stuck")
    assert failure == TaskOutcome(task_type="export", code="500", message="disk full")


def test_spec_as_json() -> None:
    """A JSON list (or one object) of rules is accepted as well."""
    doc = [{"service": "images:*", "status": 429, "retry_after": 2}, {"outcome": "stuck"}]
    rule, outcome = parse_spec(json.dumps(doc))
    assert isinstance(rule, FaultRule)
    assert (rule.status, rule.retry_after) == (429, 2)
    assert outcome == TaskOutcome(outcome="stuck")
    assert parse_spec('{"action": "reset"}') == [FaultRule(action="reset")]


def test_empty_spec_is_no_rules() -> None:
    """An unset environment variable means no faults."""
    assert parse_spec("") == []
    assert parse_spec(" ; ") == []


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("images:*:GET:*", "expected TARGET=ACTION"),
        ("images=503", "needs a region"),
        ("images:DFW=teapot", "unknown action 'teapot'"),
        ("images:DFW=200", "status: Input should be greater than or equal to 400"),
        ("images:DFW=503@2", "rate: Input should be less than or equal to 1"),
        ("images:DFW=503,retry_aftr=1", "unknown option 'retry_aftr'; expected retry_after,"),
        ("images:DFW=503,times", "option 'times' is not KEY=VALUE"),
        ("files:DFW=latency", "unknown action 'latency'"),
        ("task:import=failure", "needs a code"),
        ("task:upload=stuck", "task_type"),
        ("identity=503;task:import=explode", "entry 2"),
        ("[{", "JSON"),
        ('[{"status": 99}]', "status"),
        # the strict grammar: every part understood, or the spec is refused
        ("task:import=failure:396@", "'@' after 'failure:396' needs a rate"),
        ("task:import=failure:396@0.15@2", "rate: Input should be a valid number"),
        ("task:import=failure:39x", "code: String should match pattern"),
        ("task:import=failure:396,rate=1.5", "rate: Input should be less than or equal to 1"),
        ("task:import=failure:396@0.5,rate=0.5", "the rate is given twice"),
        ("task:import=failure:396,times=-1", "times: Input should be greater than or equal to 1"),
        ("task:import=failure:396,times=1,times=2", "option 'times' is given twice"),
        ("task:import=failure:396,code=111", "unknown option 'code'; expected times,"),
        ("task:import=stuck:396", "unknown task outcome 'stuck:396'"),
        ("task:import=stuck,message=why", "a stuck outcome takes no code or message"),
        ("task:import=fail:396", "unknown task outcome 'fail:396'"),
        ("task:=stuck", "'task:' needs a type"),
        ("imagez:DFW=503", "unknown service 'imagez:DFW'"),
        ("*:DFW=503", "unknown method 'DFW'"),
        ("images:DFW:GETT=503", "unknown method 'GETT'"),
        ("images:DFW=503,status=500", "unknown option 'status'"),
        ("images:DFW=503,fired=3", "unknown option 'fired'"),
        ("images:DFW=latency:-1", "delay: Input should be greater than or equal to 0"),
        ("images:DFW=503,retry_after=-1", "retry_after: Input should be greater than or equal"),
        ("images:DFW=reset:now", "unknown action 'reset:now'"),
        ('[{"task_type": "import", "code": "396@0.15"}]', "code: String should match pattern"),
        ('[{"status": 503, "fired": 2}]', "fired are set by the injector"),
    ],
)
def test_invalid_specs_say_what_is_wrong(spec: str, complaint: str) -> None:
    """Every mistake is a ValueError that names the entry, the problem and the accepted form."""
    with pytest.raises(ValueError, match="fault spec") as caught:
        parse_spec(spec)
    assert complaint in str(caught.value)
    if not spec.startswith("["):
        assert "Accepted form: " in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("task:import=failure:396@0.15", {"code": "396", "rate": 0.15}),
        ("task=stuck@0.5,times=2", {"task_type": "*", "outcome": "stuck", "rate": 0.5}),
        ("task:export=failure:500,rate=0.25,message=x", {"rate": 0.25, "message": "x"}),
    ],
)
def test_task_outcomes_take_a_rate_after_at(spec: str, expected: dict[str, object]) -> None:
    """``@RATE`` works for task outcomes as for HTTP rules: never part of the code."""
    (outcome,) = parse_spec(spec)
    assert isinstance(outcome, TaskOutcome)
    assert {key: getattr(outcome, key) for key in expected} == expected


def test_load_spec_adds_all_or_nothing() -> None:
    """load_spec adds every entry, or none when one is invalid."""
    injector = FaultInjector()
    with pytest.raises(ValueError, match="entry 2"):
        injector.load_spec("identity=503;images:DFW=bogus")
    assert injector.rules() == []
    added = injector.load_spec("identity=503;task:import=stuck")
    assert [item.id for item in added] == ["fault-1", "task-2"]
    assert len(injector.rules()) == 1
    assert len(injector.task_outcomes()) == 1


# the admin routes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    db = Database(Path(tmp_path_factory.mktemp("faults")) / "localcloud.sqlite3")
    accounts = Accounts(db, ("DFW",))
    for spec in DEFAULT_ACCOUNTS:
        accounts.ensure(spec)
    yield Identity(db, accounts, [], token_lifetime=3600)
    db.close()


def token_for(identity: Identity, username: str) -> str:
    """A real token, as ``POST /v2.0/tokens`` would issue it (default API keys)."""
    credentials = {"username": username, "apiKey": f"{username}-api-key"}
    body = json.dumps({"auth": {"RAX-KSKEY:apiKeyCredentials": credentials}})
    return str(identity.authenticate(body.encode())["access"]["token"]["id"])


@pytest.fixture(scope="module")
def admin_url(identity: Identity, injector: FaultInjector) -> Iterator[str]:
    app = Starlette(routes=fault_admin_routes(injector, identity))
    with serve(FaultMiddleware(app, injector, "identity")) as url:
        yield f"{url}/admin/faults"


@pytest.fixture
def admin(identity: Identity) -> dict[str, str]:
    return {"X-Auth-Token": token_for(identity, "admin")}


def test_admin_adds_lists_and_removes_rules(
    admin_url: str, admin: dict[str, str], injector: FaultInjector
) -> None:
    """An admin can add a rule, see it listed, and delete it by id."""
    created = httpx.post(admin_url, json={"service": "images:*", "status": 429}, headers=admin)
    assert created.status_code == 201
    rule = created.json()
    assert rule["id"].startswith("fault-")
    assert injector.pick("images:IAD", "GET", "/v2/images") is not None
    listing = httpx.get(admin_url, headers=admin)
    assert listing.status_code == 200
    assert [r["id"] for r in listing.json()["faults"]] == [rule["id"]]
    assert httpx.delete(f"{admin_url}/{rule['id']}", headers=admin).status_code == 204
    assert httpx.delete(f"{admin_url}/{rule['id']}", headers=admin).status_code == 404
    assert injector.rules() == []


def test_admin_adds_task_outcomes_and_clears(
    admin_url: str, admin: dict[str, str], injector: FaultInjector
) -> None:
    """Task outcomes are added under /tasks; DELETE /admin/faults clears everything."""
    body = {"task_type": "import", "code": 396, "message": "bad VHD"}
    created = httpx.post(f"{admin_url}/tasks", json=body, headers=admin)
    assert created.status_code == 201
    assert created.json()["code"] == "396"
    listing = httpx.get(admin_url, headers=admin).json()
    assert [o["id"] for o in listing["task_outcomes"]] == [created.json()["id"]]
    assert httpx.delete(admin_url, headers=admin).status_code == 204
    assert injector.task_outcomes() == []


def test_admin_routes_are_never_faulted(
    admin_url: str, admin: dict[str, str], injector: FaultInjector
) -> None:
    """A catch-all rule cannot lock the admin out of removing it."""
    injector.add(FaultRule(status=503))
    assert httpx.get(admin_url, headers=admin).status_code == 200


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_admin_routes_need_a_valid_token(admin_url: str, token: str | None) -> None:
    """Without a valid token every admin route answers 401."""
    headers = {"X-Auth-Token": token} if token else {}
    assert httpx.get(admin_url, headers=headers).status_code == 401
    response = httpx.post(admin_url, json={"status": 503}, headers=headers)
    assert response.status_code == 401
    assert "unauthorized" in response.json()


def test_admin_routes_refuse_non_admins(
    admin_url: str, identity: Identity, injector: FaultInjector
) -> None:
    """A customer token gets 403 and changes nothing."""
    headers = {"X-Auth-Token": token_for(identity, "alice")}
    response = httpx.post(admin_url, json={"status": 503}, headers=headers)
    assert response.status_code == 403
    assert response.json()["forbidden"]["code"] == 403
    assert httpx.delete(admin_url, headers=headers).status_code == 403
    assert injector.rules() == []


@pytest.mark.parametrize(
    ("path", "body", "complaint"),
    [
        ("", b"{not json", "Invalid JSON"),
        ("", b"[1, 2]", "Input should be an object"),
        ("", b'{"status": 200}', "status: Input should be greater than or equal to 400"),
        ("", b'{"action": "explode"}', "action"),
        ("", b'{"path": "re:("}', "does not compile"),
        ("/tasks", b'{"outcome": "failure"}', "needs a code"),
        ("/tasks", b'{"task_type": "upload", "outcome": "stuck"}', "task_type"),
        ("/tasks", b'{"task_type": "import", "code": "396@0.15"}', "String should match pattern"),
        ("/tasks", b'{"outcome": "stuck", "code": "396"}', "a stuck outcome takes no code"),
        ("/tasks", b'{"code": "396", "rate": 1.5}', "rate: Input should be less than or equal"),
        ("/tasks", b'{"code": "396", "times": -2}', "times: Input should be greater than"),
        ("/tasks", b"[]", "Input should be an object"),
        ("", b'{"service": "imagez:DFW"}', "unknown service 'imagez:DFW'"),
        ("", b'{"service": "images:DFW", "method": "FETCH"}', "unknown method 'FETCH'"),
        ("", b'{"status": 503, "bogus": 1}', "bogus: Extra inputs are not permitted"),
        ("", b"\xff\xfe", "Invalid JSON"),
    ],
)
def test_admin_bad_bodies_get_400(
    admin_url: str, admin: dict[str, str], path: str, body: bytes, complaint: str
) -> None:
    """Malformed or invalid bodies answer 400 with pydantic's explanation, never 500."""
    response = httpx.post(f"{admin_url}{path}", content=body, headers=admin)
    assert response.status_code == 400
    assert complaint in response.json()["badRequest"]["message"]
