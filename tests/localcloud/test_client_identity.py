"""AccountSession against real servers: login, catalog, token refresh, re-auth, retries.

Retries are exercised through the local cloud's fault injection (``POST /admin/faults``
with an admin token: statuses, Retry-After, resets, latency). A scripted server
(``tests.helpers.scripted_server``) is used only for what the local cloud cannot do:
a Retry-After given as an HTTP date, and a DELETE that the service carries out and
whose answer is then lost (the scripted server forwards it to the local cloud's Cloud
Files and drops the connection; fault rules act before the service runs).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from cloudimages.client import AccountSession, Credentials, RetryPolicy, Timeouts
from cloudimages.errors import (
    ConfigurationError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from tests.helpers.clients import credentials, no_waiting  # noqa: F401 - autouse fixture
from tests.helpers.scripted_server import Faults, Scripted, Step, root_of, serve


@pytest.fixture
def session(cloud: LocalCloud) -> Iterator[AccountSession]:
    with AccountSession(credentials(cloud)) as opened:
        yield opened


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    with serve() as app:
        yield app


# --- login and catalog ------------------------------------------------------------
def test_api_key_login_gives_token_tenant_region_and_endpoints(
    cloud: LocalCloud, session: AccountSession
) -> None:
    """An API-key login yields a token, the tenant, the default region and catalog URLs."""
    alice = cloud.account("alice")
    assert isinstance(session.token(), str)
    assert session.tenant_id == alice.tenant_id
    assert session.region == "DFW"
    assert session.endpoint("image").endswith("/v2")
    assert session.endpoint("image", "iad") != session.endpoint("image")
    assert session.storage_account() == alice.storage_account
    assert session.storage_account("IAD") == alice.storage_account
    assert session.access.token.authenticated_by == ("APIKEY",)


def test_password_is_used_when_there_is_no_api_key(cloud: LocalCloud) -> None:
    """Without an API key the session logs in with passwordCredentials."""
    creds = Credentials(
        username="bob", password=SecretStr("bob-api-key"), identity_url=cloud.identity_url
    )
    with AccountSession(creds) as session:
        assert session.access.token.authenticated_by == ("PASSWORD",)


def test_credentials_need_a_key_or_a_password() -> None:
    """A Credentials without any secret is refused when it is made, not at login."""
    with pytest.raises(ValidationError, match="neither an API key nor a password"):
        Credentials(username="alice")


def test_wrong_api_key_is_unauthorized_and_says_what_to_check(cloud: LocalCloud) -> None:
    """A refused login is Unauthorized, names the user and never shows the key."""
    creds = credentials(cloud, api_key="not-the-key")
    with AccountSession(creds) as session, pytest.raises(Unauthorized) as caught:
        session.token()
    assert caught.value.status_code == 401
    assert "'alice'" in str(caught.value)
    assert "Check the username and API key" in str(caught.value)
    assert "not-the-key" not in str(caught.value)
    assert "not-the-key" not in repr(creds)


def test_internal_flag_picks_servicenet_for_object_store_only(cloud: LocalCloud) -> None:
    """internal=True uses internalURL for Cloud Files and changes nothing else."""
    with AccountSession(credentials(cloud, internal=True)) as session:
        endpoint = next(e for e in session.access.catalog if e.service_type == "object-store")
        assert session.endpoint("object-store", endpoint.region) == endpoint.internal_url
        assert session.endpoint("image").endswith("/v2")


def test_region_override_and_unknown_region(cloud: LocalCloud) -> None:
    """Credentials.region wins over the default; an absent region lists the ones there are."""
    with AccountSession(credentials(cloud, region="ord")) as session:
        assert session.region == "ORD"
        with pytest.raises(ConfigurationError, match="available regions: DFW, IAD, ORD"):
            session.endpoint("image", "LON")
        with pytest.raises(ConfigurationError, match="no 'compute' service"):
            session.endpoint("compute")


def test_the_token_is_cached(session: AccountSession) -> None:
    """Asking for the token again does not log in again."""
    assert session.token() == session.token()
    assert session.authentications == 1


# --- expiry and revocation --------------------------------------------------------
@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("shortlived"), token_lifetime=1.0
    )
    with LocalCloud(settings) as running:
        yield running


def test_token_is_refreshed_before_it_expires(short_lived: LocalCloud) -> None:
    """Within the refresh margin (at most half the lifetime) the next call logs in again."""
    with AccountSession(credentials(short_lived), refresh_margin=300) as session:
        first = session.token()
        assert session.token() == first
        time.sleep(0.6)
        second = session.token()
        assert second != first
        assert session.authentications == 2
        images = session.endpoint("image")
        assert session.request("GET", f"{images}/images").status_code == 200


def test_revoked_token_is_replaced_with_exactly_one_login(cloud: LocalCloud) -> None:
    """A 401 from the service leads to one re-authentication and the call succeeds."""
    with AccountSession(credentials(cloud)) as session:
        stale = session.token()
        revoked = httpx.delete(
            f"{cloud.identity_url}/tokens/{stale}", headers={"X-Auth-Token": stale}
        )
        assert revoked.status_code == 204
        response = session.request("GET", f"{session.endpoint('image')}/images")
        assert response.status_code == 200
        assert session.authentications == 2
        assert session.token() != stale


def test_parallel_threads_share_one_reauthentication(cloud: LocalCloud) -> None:
    """Eight threads meeting the same revoked token cause a single new login."""
    with AccountSession(credentials(cloud)) as session:
        stale = session.token()
        httpx.delete(f"{cloud.identity_url}/tokens/{stale}", headers={"X-Auth-Token": stale})
        url = f"{session.endpoint('image')}/images"
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def call() -> None:
            barrier.wait()
            statuses.append(session.request("GET", url).status_code)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 8
        assert session.authentications == 2


def test_reauthenticate_skips_login_when_another_thread_already_did(
    session: AccountSession,
) -> None:
    """reauthenticate(stale) returns the newer token if the stale one was replaced."""
    old = session.token()
    new = session.reauthenticate(old)
    assert new != old
    assert session.reauthenticate(old) == new
    assert session.authentications == 2


# --- retries and the error seam ---------------------------------------------------
def _session(cloud: LocalCloud, **options: Any) -> AccountSession:
    return AccountSession(credentials(cloud), retry=RetryPolicy(attempts=4), **options)


def test_get_is_retried_through_5xx_until_it_succeeds(cloud: LocalCloud, faults: Faults) -> None:
    """A 503 and then a 500: the caller sees only the 200."""
    path = "/v2/schemas/images"
    busy = faults.add(service="images:DFW", method="GET", path=path, status=503, times=1)
    broken = faults.add(service="images:DFW", method="GET", path=path, status=500, times=1)
    with _session(cloud) as session:
        url = f"{session.endpoint('image')}/schemas/images"
        assert session.request("GET", url).status_code == 200
    assert (faults.fired(busy), faults.fired(broken)) == (1, 1)


def test_rate_limit_with_http_date_retry_after_is_honoured(
    cloud: LocalCloud, scripted: Scripted
) -> None:
    """429 with Retry-After as an HTTP date is retried; the hits show user agent and token.

    Scripted: the local cloud's fault rules send Retry-After as seconds only.
    """
    when = "Wed, 21 Oct 2015 07:28:00 GMT"
    url = scripted.script("GET", "/limited", Step(429, {}, {"Retry-After": when}), Step())
    with _session(cloud) as session:
        assert session.request("GET", url).status_code == 200
        hits = [h for h in scripted.hits if h.path == "/limited"]
        assert len(hits) == 2
        assert all(h.headers["user-agent"].startswith("cloudimages/") for h in hits)
        assert all(h.headers["x-auth-token"] == session.token() for h in hits)


def test_exhausted_retries_raise_the_last_error(cloud: LocalCloud, faults: Faults) -> None:
    """After the policy's attempts the typed error, with the server's message, comes out."""
    rule = faults.add(
        service="images:DFW", method="GET", path="/v2/images", status=429, retry_after=1, times=4
    )
    with _session(cloud) as session, pytest.raises(RateLimited) as caught:
        session.request("GET", f"{session.endpoint('image')}/images")
    assert caught.value.retry_after == 1.0
    assert "GET /v2/images failed with 429" in str(caught.value)
    assert "Injected fault" in str(caught.value)
    assert faults.fired(rule) == 4


def test_post_is_not_retried(cloud: LocalCloud, faults: Faults) -> None:
    """A POST that met a 503 is not replayed: the service may have acted on it."""
    rule = faults.add(service="images:DFW", method="POST", path="/v2/tasks", status=503, times=2)
    with _session(cloud) as session, pytest.raises(ServiceUnavailable):
        session.request("POST", f"{session.endpoint('image')}/tasks", json={})
    assert faults.fired(rule) == 1


def test_connection_reset_is_a_transport_error_and_retried(
    cloud: LocalCloud, faults: Faults
) -> None:
    """A reset connection surfaces as TransportError, and GET survives one."""
    get = faults.add(service="images:DFW", method="GET", path="/v2/images", action="reset", times=1)
    post = faults.add(
        service="images:DFW", method="POST", path="/v2/tasks", action="reset", times=2
    )
    with _session(cloud) as session:
        images = session.endpoint("image")
        assert session.request("GET", f"{images}/images").status_code == 200
        with pytest.raises(TransportError, match=r"POST .*/v2/tasks: the connection broke"):
            session.request("POST", f"{images}/tasks", json={})
    assert (faults.fired(get), faults.fired(post)) == (1, 1)


def test_delete_that_acted_before_the_reset_counts_as_done(
    cloud: LocalCloud, scripted: Scripted
) -> None:
    """DELETE, reset, then 404 on the retry: the resource is gone, as asked.

    Scripted: the object is really deleted by the local cloud's Cloud Files, then the
    answer is dropped; the local cloud's own reset fault would act before deleting.
    """
    with _session(cloud) as session:
        files = session.endpoint("object-store")
        session.request("PUT", f"{files}/acted")
        session.request("PUT", f"{files}/acted/thing", content=b"x")
        path = httpx.URL(f"{files}/acted/thing").path
        upstream = root_of(files)
        url = scripted.script(
            "DELETE", path, Step(forward=upstream, reset=True), Step(forward=upstream)
        )
        assert session.request("DELETE", url).status_code == 404
        assert scripted.count("DELETE", path) == 2
        with pytest.raises(NotFound):
            session.request("GET", f"{files}/acted/thing")
        with pytest.raises(NotFound):
            session.request("DELETE", f"{files}/acted/never")


def test_read_timeout_and_refused_connection_are_transport_errors(
    cloud: LocalCloud, faults: Faults
) -> None:
    """A slow service and a closed port both raise TransportError naming the call."""
    rule = faults.add(
        service="images:DFW", method="GET", path="/v2/images", action="latency", delay=0.5, times=2
    )
    patient = RetryPolicy(attempts=2)
    with (
        AccountSession(credentials(cloud), timeouts=Timeouts(read=0.1), retry=patient) as session,
        pytest.raises(TransportError, match=r"GET .*/v2/images timed out"),
    ):
        session.request("GET", f"{session.endpoint('image')}/images")
    assert faults.fired(rule) == 2
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with _session(cloud) as session, pytest.raises(TransportError, match="could not connect"):
        session.request("GET", f"http://127.0.0.1:{port}/v2/images")


def test_error_messages_carry_request_id_but_no_token(session: AccountSession) -> None:
    """The seam puts the request id in the message and keeps the token out of it."""
    url = f"{session.endpoint('object-store')}/no-such-container"
    with pytest.raises(NotFound) as caught:
        session.request("GET", url)
    assert caught.value.request_id
    assert f"(request id {caught.value.request_id})" in str(caught.value)
    assert session.token() not in str(caught.value)


# --- retries through the local cloud's faults -----------------------------------------
def test_injected_503s_on_listing_are_retried(
    cloud: LocalCloud, session: AccountSession, faults: Faults
) -> None:
    """Two injected 503s on GET /v2/images are absorbed by the retry policy."""
    rule = faults.add(service="images:DFW", method="GET", path="/v2/images", status=503, times=2)
    assert session.request("GET", f"{session.endpoint('image')}/images").status_code == 200
    assert faults.fired(rule) == 2


def test_injected_429_with_retry_after_and_reset_are_retried(
    cloud: LocalCloud, session: AccountSession, faults: Faults
) -> None:
    """A 429 with Retry-After, then a reset connection: the GET still succeeds."""
    limited = faults.add(
        service="images:DFW", method="GET", path="/v2/schemas/*", status=429, retry_after=1, times=1
    )
    reset = faults.add(
        service="images:DFW", method="GET", path="/v2/schemas/*", action="reset", times=1
    )
    url = f"{session.endpoint('image')}/schemas/image"
    assert session.request("GET", url).status_code == 200
    assert (faults.fired(limited), faults.fired(reset)) == (1, 1)


def test_injected_identity_outage_during_login_is_retried(
    cloud: LocalCloud, faults: Faults
) -> None:
    """Logging in is safe to repeat, so a 503 from Identity is retried."""
    rule = faults.add(service="identity", method="POST", path="/v2.0/tokens", status=503, times=1)
    with AccountSession(credentials(cloud)) as session:
        assert session.token()
    assert faults.fired(rule) == 1


def test_injected_401_is_answered_with_one_reauthentication(
    cloud: LocalCloud, session: AccountSession, faults: Faults
) -> None:
    """A service 401 (an expired token, say) costs one login and one more try."""
    session.token()
    rule = faults.add(service="images:DFW", method="GET", path="/v2/images", status=401, times=1)
    assert session.request("GET", f"{session.endpoint('image')}/images").status_code == 200
    assert faults.fired(rule) == 1
    assert session.authentications == 2
