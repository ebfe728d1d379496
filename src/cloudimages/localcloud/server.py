"""Run the local cloud: in a background thread (tests, the demo) or in the foreground.

``LocalCloud`` binds every socket before serving, so its URLs are known the
moment ``start()`` returns, even when the ports were picked by the kernel.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from .accounts import Account
from .app import Ports, Services, build
from .httpserver import SwiftTolerantProtocol
from .identity import RegionEndpoints
from .keystone import OpenStackEndpoints
from .settings import LocalCloudSettings


class LocalCloud:
    """A running Identity + Cloud Images + Cloud Files, on 127.0.0.1 by default.

    Example:
        >>> with LocalCloud(LocalCloudSettings(data_dir=tmp)) as cloud:  # doctest: +SKIP
        ...     print(cloud.identity_url)
    """

    def __init__(self, settings: LocalCloudSettings | None = None, **overrides: Any) -> None:
        base = settings or LocalCloudSettings()
        self.settings = base.model_copy(update=overrides) if overrides else base
        self._sockets: list[socket.socket] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.services: Services | None = None
        self.ports: Ports | None = None

    # lifecycle -------------------------------------------------------------------
    def _prepare(self) -> uvicorn.Server:
        self.ports = self._bind()
        self.services = build(self.settings, self.ports)
        self.services.start()
        config = uvicorn.Config(
            self.services.router,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            server_header=False,
            http=SwiftTolerantProtocol,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def start(self) -> LocalCloud:
        server = self._prepare()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": self._sockets}, name="localcloud", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                msg = "the local cloud did not start; see the log above"
                raise RuntimeError(msg)
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C)."""
        server = self._server or self._prepare()
        try:
            server.run(sockets=self._sockets)
        finally:
            self._close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._close()

    def _close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        if self.services is not None:
            self.services.close()
            self.services = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # sockets ---------------------------------------------------------------------
    def _bind(self) -> Ports:
        """Identity on ``port``; then images and files per region on the next ports."""
        base = self.settings.port

        def port_for(offset: int) -> int:
            return self._listen(base + offset if base else 0)

        ports = Ports(identity=port_for(0))
        upstream = [spec.name for spec in self.settings.openstack_regions]
        for index, region in enumerate((*self.settings.regions, *upstream)):
            ports.images[region] = port_for(1 + 2 * index)
            ports.files[region] = port_for(2 + 2 * index)
        return ports

    def _listen(self, port: int) -> int:
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; with
        # Nagle on, a response written as headers + body waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.settings.host, port))
        except OSError as err:
            sock.close()
            self._close()
            where = f"{self.settings.host}:{port}"
            msg = f"cannot listen on {where}: {err.strerror}; choose another --port"
            raise OSError(err.errno, msg) from err
        sock.listen(128)
        sock.set_inheritable(True)
        self._sockets.append(sock)
        return int(sock.getsockname()[1])

    # what clients need -------------------------------------------------------------
    @property
    def identity_url(self) -> str:
        assert self.ports is not None, "start() the local cloud first"
        return f"http://{self.settings.catalog_host}:{self.ports.identity}/v2.0"

    @property
    def keystone_url(self) -> str:
        """The Keystone v3 auth URL (``.../v3``) of the upstream-OpenStack regions."""
        assert self.ports is not None, "start() the local cloud first"
        return f"http://{self.settings.catalog_host}:{self.ports.identity}/v3"

    @property
    def openstack_endpoints(self) -> list[OpenStackEndpoints]:
        """Image and object-store roots of each upstream-OpenStack region."""
        assert self.services is not None, "start() the local cloud first"
        return self.services.keystone.views.endpoints if self.services.keystone else []

    @property
    def accounts(self) -> list[Account]:
        assert self.services is not None, "start() the local cloud first"
        return self.services.accounts.all()

    def account(self, username: str) -> Account:
        found = next((a for a in self.accounts if a.username == username), None)
        if found is None:
            msg = f"no account {username!r} in this local cloud"
            raise KeyError(msg)
        return found

    @property
    def endpoints(self) -> list[RegionEndpoints]:
        assert self.services is not None, "start() the local cloud first"
        return self.services.endpoints
