"""A real local Ray cluster on loopback only, for the cluster tests and ``make bench-cluster``.

Outside a network namespace Ray registers the machine's interface address even when told
127.0.0.1; inside one with only loopback, every byte stays on this machine. The calling
thread enters a fresh network namespace (``loopback_only``), so that this process, the
Ray nodes, the Chroma server and the CLI it starts all share it, and leaves it after.
Plain functions and classes without pytest, so that ``scripts/bench_cluster.py`` can use
them too. Entering a network namespace needs root (CAP_SYS_ADMIN): ``can_isolate`` says.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.helpers.processes import LOOPBACK, free_port

__all__ = ["RayCluster", "can_isolate", "loopback_only", "process_tree"]

CLONE_NEWNET = 0x40000000
RAY = Path(sys.executable).with_name("ray")
STARTUP_SECONDS = 120.0


def can_isolate() -> str | None:
    """None if this process can enter a loopback-only namespace; else why not."""
    if os.geteuid() != 0:
        return "a network namespace needs root (CAP_SYS_ADMIN)"
    if not RAY.is_file():
        return f"{RAY} is missing: install the cluster extra (pip install -e '.[cluster]')"
    return None


@contextmanager
def loopback_only() -> Iterator[None]:
    """Run the block (and every process it starts) in a new namespace with only loopback."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/self/ns/net", "rb") as home:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            yield
        finally:
            if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the first namespace failed")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, parents first (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _kill(pids: list[int], sig: int) -> None:
    for member in pids:
        with suppress(ProcessLookupError):
            os.kill(member, sig)


class RayCluster:
    """A head node and ``workers`` more nodes, one CPU each, started with ``ray start --block``.

    Each node is a ``ray start`` process of ours; stopping kills exactly its process tree
    (never ``ray stop``, which would stop every Ray process on the machine).
    """

    def __init__(self, root: Path, workers: int = 1, object_store_mb: int = 100) -> None:
        self.root = root
        self.workers = workers
        self.object_store = str(object_store_mb << 20)
        self.port = free_port()
        self.nodes: list[subprocess.Popen[bytes]] = []
        # Ray's sockets live under its temp folder, and a socket's path must stay under 107
        # bytes: a short folder in /tmp, not the test's own (removed by ``stop``).
        self.temp = Path(tempfile.mkdtemp(prefix="ray"))

    @property
    def address(self) -> str:
        """The head node's ``host:port``, as ``--ray`` takes it."""
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> RayCluster:
        """Start the head and the worker nodes; return once all are alive."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._node("head", ["--head", "--port", str(self.port), "--include-dashboard", "false"])
        for n in range(self.workers):
            self._node(f"node{n + 1}", ["--address", self.address])
        self.wait_for_nodes(1 + self.workers)
        return self

    def add_worker(self) -> None:
        """One more worker node, joined to the running head; return once it is alive."""
        self.workers += 1
        self._node(f"node{self.workers}", ["--address", self.address])
        self.wait_for_nodes(1 + self.workers)

    def _node(self, name: str, options: list[str]) -> None:
        command = [
            str(RAY),
            "start",
            *options,
            "--node-ip-address",
            LOOPBACK,
            "--num-cpus",
            "1",
            "--object-store-memory",
            self.object_store,
            "--temp-dir",
            str(self.temp),
            "--disable-usage-stats",
            "--block",
        ]
        with (self.root / f"{name}.log").open("wb") as log:
            self.nodes.append(
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env())
            )

    def alive_nodes(self) -> int:
        """How many nodes the cluster counts as alive (asked from a fresh driver)."""
        script = (
            "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR');"
            "print(sum(n['Alive'] for n in ray.nodes()))"
        )
        if not _listening(self.port):
            return 0
        try:
            done = subprocess.run(
                [sys.executable, "-c", script, self.address],
                capture_output=True,
                text=True,
                timeout=60,
                env=_env(),
            )
        except subprocess.TimeoutExpired:
            return 0
        lines = done.stdout.strip().splitlines()
        return int(lines[-1]) if done.returncode == 0 and lines else 0

    def wait_for_nodes(self, count: int) -> None:
        """Wait until ``count`` nodes are alive, or fail with the nodes' logs."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while self.alive_nodes() < count:
            if time.monotonic() > deadline or any(n.poll() is not None for n in self.nodes):
                logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in self.logs())
                raise RuntimeError(f"the Ray cluster did not come up with {count} nodes:\n{logs}")
            time.sleep(1.0)

    def logs(self) -> list[Path]:
        """The ``ray start`` logs of the nodes."""
        return sorted(self.root.glob("*.log"))

    def kill_node(self, index: int) -> None:
        """Kill node ``index`` (1 = the first worker) and all its processes at once, as a crash."""
        node = self.nodes[index]
        _kill(process_tree(node.pid), signal.SIGKILL)
        node.wait()

    def stop(self) -> None:
        """Stop every node we started, workers first: SIGTERM, then SIGKILL what is left."""
        for node in reversed(self.nodes):
            if node.poll() is None:
                tree = process_tree(node.pid)
                _kill(tree, signal.SIGTERM)
                with suppress(subprocess.TimeoutExpired):
                    node.wait(timeout=15)
                _kill(tree + process_tree(node.pid), signal.SIGKILL)
                node.wait()
        shutil.rmtree(self.temp, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _env() -> dict[str, str]:
    """The nodes' environment: quiet, and no thread oversubscription on small machines."""
    env = dict(os.environ)
    env.update(RAY_USAGE_STATS_ENABLED="0", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    return env
