"""Stand-ins and private instances for the fault tests: a Memcached, a Redis and a PostgreSQL of
their own (so they can be stopped and started without touching anyone else's), and a slow SMTP
server."""

from __future__ import annotations

import configparser
import contextlib
import glob
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from contract_tests.stack import free_port, reachable


class Daemon:
    """A server process in the foreground of its own, on a free loopback port."""

    def __init__(self, command: list[str], port: int, **popen) -> None:
        self.command, self.port, self.popen = command, port, popen
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self.popen
        )
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.command[0]} did not listen on {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PostgreSQL(Daemon):
    """A PostgreSQL cluster of its own on a free port (Debian's server binaries, run as the
    `postgres` user when the tests run as root, as PostgreSQL insists), with trust auth. `stop()`
    is a fast shutdown, as `pg_ctlcluster ... stop -m fast`: every session is terminated."""

    def __init__(self) -> None:
        [bindir] = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:]
        self.datadir = tempfile.mkdtemp(prefix="shop-pg-")
        owner = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
        if owner:
            shutil.chown(self.datadir, "postgres", "postgres")
        subprocess.run(
            [f"{bindir}/initdb", "-D", self.datadir, "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            **owner,
        )
        port = free_port()
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-k", self.datadir]
        super().__init__([f"{bindir}/postgres", "-D", self.datadir, "-p", str(port), *options], port, **owner)
        self.url = f"postgres://postgres@127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            self.process.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)


def memcached() -> Daemon:
    port = free_port()
    return Daemon(["memcached", "-u", "memcache", "-l", "127.0.0.1", "-p", str(port), "-m", "32"], port)


def redis() -> Daemon:
    port = free_port()
    return Daemon(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"], port
    )


class S3Emulator(Daemon):
    """moto's S3 API server, an emulator of Amazon S3 (not S3 itself), in a process of its own
    (its state is in memory: it lives as long as the process). `pause()` stops the process
    (SIGSTOP): the port still takes connections and nothing answers them, as with a store behind
    a network that drops its packets; `resume()` lets it go on with what it held."""

    def __init__(self) -> None:
        port = free_port()
        super().__init__([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port)
        self.url = f"http://127.0.0.1:{port}"

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()  # a stopped process would not act on SIGTERM
        super().stop()


class SlowSMTP(socketserver.ThreadingTCPServer):
    """Enough SMTP for Django's backend. It waits `delay` seconds before acknowledging a message's
    data; `accepted` lists the subjects of the messages it acknowledged, `receiving` those whose
    data it has read and not yet acknowledged."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.delay = 0.0
        self.accepted: list[str] = []
        self.receiving: list[str] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError):  # a worker killed mid-conversation
                    self.converse()

            def converse(self) -> None:
                self.reply("220 slow-smtp ready")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        self.reply("250 slow-smtp")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        data = b""
                        while not data.endswith(b"\r\n.\r\n"):
                            chunk = self.rfile.readline()
                            if not chunk:
                                return
                            data += chunk
                        subject = re.search(rb"^Subject: (.*)\r$", data, re.M)
                        subject = subject[1].decode() if subject else ""
                        server.receiving.append(subject)
                        time.sleep(server.delay)
                        server.accepted.append(subject)
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # MAIL FROM, RCPT TO, RSET, NOOP
                        self.reply("250 ok")

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


NGINX_TEMPLATE = Path(__file__).resolve().parents[1] / "docker" / "nginx" / "shop.conf.template"


def render_template(text: str, values: dict[str, str]) -> str:
    """What the nginx image's envsubst does with the template: `${NAME}` of the given names
    replaced, nginx's own `$variables` left alone."""
    return re.sub(
        r"\$\{([A-Z_]+)\}", lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text
    )


class Nginx(Daemon):
    """Debian's nginx running the repository's proxy configuration (docker/nginx/), rendered for
    these upstreams, in a directory of its own (pid, logs, temporary files)."""

    def __init__(self, upstreams: list[str], *, static_root: str, read_timeout: str = "35s") -> None:
        self.prefix = Path(tempfile.mkdtemp(prefix="shop-nginx-"))
        port = free_port()
        site = render_template(
            NGINX_TEMPLATE.read_text(),
            {
                "NGINX_PORT": f"127.0.0.1:{port}",
                "NGINX_UPSTREAM_SERVERS": " ".join(f"server {upstream};" for upstream in upstreams),
                "NGINX_STATIC_ROOT": static_root,
                "NGINX_PROXY_READ_TIMEOUT": read_timeout,
            },
        )
        assert "${" not in site, "a template variable was left unrendered"
        (self.prefix / "shop.conf").write_text(site)
        (self.prefix / "nginx.conf").write_text(
            ""
            # as root, workers would run as nobody, who cannot read the stack's private directory
            + ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {self.prefix}/nginx.pid;\n"
            f"error_log {self.prefix}/error.log warn;\n"
            "events { worker_connections 2048; }\n"
            "http {\n"
            "    default_type application/octet-stream;\n"
            f"    access_log {self.prefix}/access.log;\n"
            + "".join(
                f"    {kind}_temp_path {self.prefix}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {self.prefix}/shop.conf;\n"
            "}\n"
        )
        super().__init__(["nginx", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")], port)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        check = subprocess.run([*self.command, "-t"], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        super().start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.prefix, ignore_errors=True)


PGBOUNCER_INI = Path(__file__).resolve().parents[1] / "docker" / "pgbouncer" / "pgbouncer.ini"
REPO_PGBOUNCER = configparser.ConfigParser()
REPO_PGBOUNCER.read(PGBOUNCER_INI)
POOLING = (
    "pool_mode",
    "ignore_startup_parameters",
    "server_reset_query",
    "server_login_retry",
    "query_wait_timeout",
)


class PgBouncer(Daemon):
    """Debian's pgbouncer in transaction-pooling mode, as compose runs it (docker/pgbouncer/),
    in front of the PostgreSQL at `server` (host:port); any database name is passed through."""

    def __init__(self, server: str = "127.0.0.1:5432", *, pool_size: int = 20) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="shop-pgbouncer-"))
        host, server_port = server.split(":")
        port = free_port()
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={host} port={server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"unix_socket_dir = {self.dir}\n"
            "auth_type = trust\n"
            f"auth_file = {self.dir / 'userlist.txt'}\n"
            # the pooling of the repository's configuration, which compose runs
            + "".join(f"{key} = {REPO_PGBOUNCER['pgbouncer'][key]}\n" for key in POOLING)
            + f"default_pool_size = {pool_size}\nmax_client_conn = 500\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
        )
        owner = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
        if owner:  # pgbouncer refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            for path in self.dir.iterdir():
                shutil.chown(path, "postgres", "postgres")
        super().__init__(["pgbouncer", str(self.dir / "pgbouncer.ini")], port, **owner)
        self.url = f"postgres://postgres@127.0.0.1:{port}"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
