"""Configuration files of the real mini OpenStack (Keystone, two Glances, Swift with authtoken).

Pure text builders (stdlib only), kept apart from the process handling in realopenstack.py.
Every value here was measured to work on 127.0.0.1 (see /work/shared/reference/
mini-openstack.md); the comments say why a line is there.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

SERVICE_PASSWORD = "service-password"  # the glance and swift service users
SWIFT_SERVERS = ("account", "container", "object", "proxy")


@dataclass(frozen=True)
class GlanceRegion:
    """One Glance API and how it is configured: the default one, or a strict one."""

    region: str
    disk_formats: tuple[str, ...] | None = None  # None: Glance's default list
    import_methods: tuple[str, ...] = ("glance-direct", "web-download", "copy-image")
    user_storage_quota: str = "0"  # "0": unlimited; e.g. "4MB" answers 413 beyond


def keystone_conf(run: Path) -> str:
    """keystone.conf: sqlite, Fernet tokens and keys under ``run``, cheap bcrypt (tests)."""
    k = run / "keystone"
    return (
        f"[DEFAULT]\nlog_file = {run / 'log' / 'keystone.log'}\n\n"
        f"[database]\nconnection = sqlite:///{k / 'keystone.sqlite'}\n\n"
        "[token]\nprovider = fernet\n\n"
        f"[fernet_tokens]\nkey_repository = {k / 'fernet-keys'}\n\n"
        # MFA receipts default to /etc/keystone/fernet-keys/
        f"[fernet_receipts]\nkey_repository = {k / 'fernet-keys'}\n\n"
        f"[credential]\nkey_repository = {k / 'credential-keys'}\n\n"
        # bcrypt cost 4 instead of 12: 0.23 s less per password or app-credential auth
        "[identity]\npassword_hash_rounds = 4\n"
    )


def keystone_gunicorn_conf(run: Path, port: int) -> str:
    """gunicorn.conf.py: keystone's WSGI app parses sys.argv, so gunicorn gets no CLI options."""
    k, log = run / "keystone", run / "log"
    return (
        "wsgi_app = 'keystone.wsgi.api:application'\n"
        f"bind = ['127.0.0.1:{port}']\n"
        "workers = 1\nworker_class = 'gthread'\nthreads = 4\ntimeout = 120\n"
        "graceful_timeout = 5\ncontrol_socket_disable = True\n"
        f"pidfile = '{k / 'gunicorn.pid'}'\n"
        f"accesslog = '{log / 'keystone-access.log'}'\n"
        f"errorlog = '{log / 'keystone-gunicorn.log'}'\n"
        f"raw_env = ['OS_KEYSTONE_CONFIG_DIR={k / 'etc'}']\n"
    )


def authtoken_section(keystone_url: str, user: str, region: str, cache_time: int) -> str:
    """keystonemiddleware options; no memcached: the in-process token cache works.

    ``cache_time`` -1 validates every request, so a revoked token is refused at once;
    with a cache (300 s is the default) it stays accepted until the entry expires.
    """
    return (
        f"www_authenticate_uri = {keystone_url}\nauth_url = {keystone_url}\n"
        f"auth_type = password\nusername = {user}\npassword = {SERVICE_PASSWORD}\n"
        "project_name = service\nuser_domain_id = default\nproject_domain_id = default\n"
        f"region_name = {region}\n"
        f"token_cache_time = {cache_time}\n"
    )


def glance_conf(
    gdir: Path, *, spec: GlanceRegion, port: int, keystone_url: str, file_port: int, cache_time: int
) -> str:
    """glance-api.conf behind authtoken; list values need brackets (else 500 on use)."""
    methods = ",".join(spec.import_methods)
    formats = "" if spec.disk_formats is None else f"disk_formats = {','.join(spec.disk_formats)}\n"
    return (
        f"[DEFAULT]\ndebug = false\nlog_file = {gdir / 'glance-api.log'}\n"
        "enabled_backends = fs:file\n"
        f"enabled_import_methods = [{methods}]\n"
        f"user_storage_quota = {spec.user_storage_quota}\n"
        f"worker_self_reference_url = http://127.0.0.1:{port}\n\n"
        f"[database]\nconnection = sqlite:///{gdir / 'glance.sqlite'}?timeout=30\n\n"
        "[glance_store]\ndefault_backend = fs\n\n"
        f"[fs]\nfilesystem_store_datadir = {gdir / 'images'}\n\n"
        f"[os_glance_staging_store]\nfilesystem_store_datadir = {gdir / 'staging'}\n\n"
        f"[os_glance_tasks_store]\nfilesystem_store_datadir = {gdir / 'tasks'}\n\n"
        f"[image_format]\n{formats}\n"
        f"[paste_deploy]\nconfig_file = {gdir / 'etc' / 'glance-api-paste.ini'}\n"
        "flavor = keystone\n\n"
        "[keystone_authtoken]\n"
        f"{authtoken_section(keystone_url, 'glance', spec.region, cache_time)}\n"
        f"[task]\ntask_executor = taskflow\nwork_dir = {gdir / 'work'}\n\n"
        "[taskflow_executor]\nengine_mode = serial\n\n"
        # loopback web-download is refused unless host and port are listed
        "[import_filtering_opts]\nallowed_hosts = [127.0.0.1]\n"
        f"allowed_ports = [{file_port}]\n\n"
        f"[oslo_concurrency]\nlock_path = {gdir / 'locks'}\n"
    )


def glance_paste(shipped: str, gdir: Path) -> str:
    """The paste file Glance ships, with the healthcheck-disable file moved out of /etc."""
    return shipped.replace("/etc/glance/healthcheck_disable", str(gdir / "healthcheck_disable"))


def swift_conf() -> str:
    return (
        "[swift-hash]\nswift_hash_path_prefix = cloudimages\n"
        "swift_hash_path_suffix = realopenstack\n\n"
        "[storage-policy:0]\nname = gold\ndefault = yes\n"
    )


def swift_server_conf(
    sdir: Path, name: str, ports: dict[str, int], keystone_url: str, cache_time: int
) -> str:
    """One server's conf; the proxy gets authtoken + keystoneauth instead of tempauth."""
    default = (
        f"[DEFAULT]\nswift_dir = {sdir / 'etc'}\ndevices = {sdir / 'srv' / 'node'}\n"
        "mount_check = false\ndisable_fallocate = true\nbind_ip = 127.0.0.1\n"
        f"bind_port = {ports[name]}\nworkers = 0\nuser = {getpass.getuser()}\n"
        f"recon_cache_path = {sdir / 'cache'}\nlog_name = {name}-server\n\n"
    )
    if name != "proxy":
        return default + (
            f"[pipeline:main]\npipeline = healthcheck {name}-server\n\n"
            f"[app:{name}-server]\nuse = egg:swift#{name}\n\n"
            "[filter:healthcheck]\nuse = egg:swift#healthcheck\n"
        )
    filters = ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats")
    filters += ("bulk", "tempurl", "formpost", "copy", "slo", "dlo")
    plain = "".join(f"[filter:{f}]\nuse = egg:swift#{f.replace('-', '_')}\n\n" for f in filters)
    return default + (
        # tempurl/formpost before authtoken; delay_auth_decision lets anonymous ACL reads in
        "[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging "
        "listing_formats bulk tempurl formpost authtoken keystoneauth copy slo dlo "
        "proxy-logging proxy-server\n\n"
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n"
        "[filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n"
        f"{authtoken_section(keystone_url, 'swift', 'RegionOne', cache_time)}"
        "delay_auth_decision = True\n\n"
        "[filter:keystoneauth]\nuse = egg:swift#keystoneauth\nreseller_prefix = AUTH_\n"
        "operator_roles = admin, member\nreseller_admin_role = ResellerAdmin\n\n"
        f"{plain}"
    )


RING_SCRIPT = """
import json, sys
from swift.common.ring import RingBuilder
etc, ports = sys.argv[1], json.loads(sys.argv[2])
for name, port in ports.items():
    b = RingBuilder(8, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
               "device": "d1", "weight": 100, "meta": ""})
    b.rebalance(seed=1)
    b.save(f"{etc}/{name}.builder")
    b.get_ring().save(f"{etc}/{name}.ring.gz")
"""

# keystone-manage costs ~2 s per call, nearly all of it imports: import once, fork per command.
KEYSTONE_MANAGE_SCRIPT = """
import os, sys
from keystone.cmd import cli
for argv in [a.split("\\x1f") for a in sys.argv[1:]]:
    pid = os.fork()
    if pid == 0:
        try:
            cli.main(argv=["keystone-manage", *argv])
        except SystemExit as exit:
            os._exit(exit.code if isinstance(exit.code, int) else 1)
        except BaseException:
            import traceback; traceback.print_exc(); os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"keystone-manage {argv[2]} failed")
"""
