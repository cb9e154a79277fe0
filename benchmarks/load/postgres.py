"""The PostgreSQL server of the load run: a private one it may restart, or the machine's cluster.

Everything listens on 127.0.0.1; every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from benchmarks.load.plan import BENCH_DIR

PG_LIB = Path("/usr/lib/postgresql")
SYSTEM_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_WAIT = 90.0  # seconds PostgreSQL may take to (re)start


def psycopg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


async def run_command(*command: str, timeout: float = PG_WAIT) -> tuple[int, str]:
    """Run a command (bounded); its exit code and combined output.

    The output goes through a file, not a pipe: `pg_ctl start|restart` leaves the server running with the
    command's stdout, and a pipe would then never reach its end.
    """
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=BENCH_DIR) as out:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
        )
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, f"{command[0]} did not finish in {timeout:.0f} s"
        out.seek(0)
        return int(process.returncode or 0), out.read().decode(errors="replace")


class Postgres:
    """A PostgreSQL server for the benchmark's throwaway databases.

    private=True (the default of the load run): a server of its own, made with the machine's PostgreSQL binaries
    (initdb as the postgres user, stock settings: max_connections 100, shared_buffers 128MB, fsync on) on a
    free loopback port, so restarting it mid-load disturbs nobody else on the machine.
    private=False: the machine's cluster on 127.0.0.1:5432, restarted with pg_ctlcluster.
    """

    def __init__(self, private: bool, port: int) -> None:
        self.private = private
        self.port = port if private else 5432
        self.root: Path | None = None
        self.databases: list[str] = []
        self.version = sorted((p.name for p in PG_LIB.iterdir() if (p / "bin" / "pg_ctl").exists()), key=int)[-1]
        self.bin = PG_LIB / self.version / "bin"
        self.restart_command = ""

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres" if self.private else SYSTEM_PG_URL

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _as_postgres(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command]

    async def start(self) -> None:
        if not self.private:
            self.restart_command = f"pg_ctlcluster --skip-systemctl-redirect {self.version} main restart"
            await self.wait_accepting()
            return
        self.root = Path(tempfile.mkdtemp(prefix="load-bench-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        code, out = await run_command(
            *self._as_postgres(
                str(self.bin / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8"
            ),
            "--locale=C",
            "--no-sync",
        )
        if code != 0:
            raise RuntimeError(f"initdb failed: {out[-2000:]}")
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c max_connections=100 -c shared_buffers=128MB"
        )
        code, out = await run_command(
            *self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-w"
            ),
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        if code != 0:
            raise RuntimeError(f"pg_ctl start failed: {out[-2000:]}")
        self.restart_command = f"pg_ctl -D {self.data_dir} -m fast restart (as postgres)"
        await self.wait_accepting()

    async def wait_accepting(self, timeout: float = PG_WAIT) -> float:
        """Seconds until a new connection works (bounded)."""
        started = time.monotonic()
        engine = create_engine(psycopg_url(self.server_url), poolclass=NullPool)
        try:
            while True:
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                    return time.monotonic() - started
                except Exception as exc:
                    if time.monotonic() - started > timeout:
                        raise RuntimeError(f"PostgreSQL not accepting connections after {timeout:.0f} s") from exc
                await asyncio.sleep(0.2)
        finally:
            engine.dispose()

    async def restart(self) -> tuple[bool, str]:
        """Restart the server (fast shutdown: every connection is cut). (done, how)."""
        if self.private:
            command = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w")
            code, out = await run_command(*command, "-t", "60", "-l", str(self.root / "server.log"), "restart")
        else:
            if os.geteuid() != 0:
                return False, "not root: pg_ctlcluster restart needs root"
            code, out = await run_command(
                "pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", "restart", timeout=120
            )
        if code != 0:
            return False, f"restart failed ({code}): {out.strip()[-500:]}"
        return True, self.restart_command

    def create_database(self, label: str) -> str:
        name = f"load_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(psycopg_url(self.server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.databases.append(name)
        return self.server_url.rsplit("/", 1)[0] + f"/{name}"

    def postmaster_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid" if self.private else None
        if pid_file is None:
            candidates = list(Path("/var/run/postgresql").glob(f"{self.version}-main.pid"))
            pid_file = candidates[0] if candidates else None
        try:
            return int(pid_file.read_text().split()[0]) if pid_file else None
        except (OSError, ValueError, IndexError):
            return None

    async def stop(self) -> None:
        if self.private and self.root is not None:
            command = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w")
            await run_command(*command, "stop")
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            return
        admin = create_engine(psycopg_url(self.server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with contextlib.suppress(Exception), admin.connect() as connection:
            for name in self.databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
