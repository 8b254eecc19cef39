"""Docker for the image tests: build the three images with the project's script, run containers the
way Render does (host network, 512 MB, the blueprint's environment), and read what they used.

Containers listen on 127.0.0.1 ports of the host network: no bridge, no private-range traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers import ROOT

IMAGE_TAG = os.environ.get("IMAGE_TAG", "local")
SERVICES = ("api", "app", "mlflow")
MEMORY_LIMIT = "512m"
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
# Room a container's processes keep below the limit: what a challenger's shadow scoring adds to the
# API (50-64 MB, bench/README.md).
HEADROOM_MB = 64
CGROUP = Path("/sys/fs/cgroup")
# A container's memory high-water mark: cgroup v1 (this machine), then cgroup v2 (systemd or cgroupfs).
PEAK_FILES = (
    "memory/docker/{id}/memory.max_usage_in_bytes",
    "system.slice/docker-{id}.scope/memory.peak",
    "docker/{id}/memory.peak",
)

# Its anonymous memory, from memory.stat: "rss" on cgroup v1, "anon" on v2.
STAT_FILES = (
    ("memory/docker/{id}/memory.stat", "rss"),
    ("system.slice/docker-{id}.scope/memory.stat", "anon"),
    ("docker/{id}/memory.stat", "anon"),
)


def image(service: str) -> str:
    return f"credit-scoring-{service}:{IMAGE_TAG}"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()[-2000:]}")
    return result


def docker_unavailable() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker client (Debian's docker.io; `make test` installs it)"
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True
    )
    if result.returncode != 0:
        return f"no Docker engine answers: {result.stderr.strip()[-300:]}"
    return None


class ImageBuild:
    """scripts/build_images.sh running in the background (layer cache reused), started as soon as the
    session knows it needs images so the builds overlap the tests that come before them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started = time.monotonic()
        self.output = log_dir / "build_images.out"
        with self.output.open("w") as out:
            self.process = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "build_images.sh")],
                cwd=ROOT,
                env={**os.environ, "IMAGE_LOG_DIR": str(log_dir), "IMAGE_TAG": IMAGE_TAG},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.finished: float | None = None  # when the builds ended, which may be before anyone waits
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        self.process.wait()
        self.finished = time.monotonic()

    def stop(self) -> None:
        """End the builds if the session ends before it needed them (no docker build left behind)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)

    def wait(self, timeout: float = 1800) -> float:
        """Seconds the builds took (start to end, not to this call); raises with the script's output
        if one failed."""
        returncode = self.process.wait(timeout=timeout)
        self._watcher.join(timeout=10)
        if returncode != 0:
            raise RuntimeError(f"building the images failed:\n{self.output.read_text()[-4000:]}")
        return (self.finished or time.monotonic()) - self.started


def image_size_mb(service: str) -> float:
    return int(docker("image", "inspect", "-f", "{{.Size}}", image(service)).stdout) / 1e6


def run_once(service: str, *command: str, env: dict[str, str] | None = None) -> str:
    """A one-off command in a fresh container of the image (output returned, container removed)."""
    flags = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    return docker("run", "--rm", "--network", "host", *flags, image(service), *command, timeout=120).stdout


@dataclass
class Container:
    """A service container started from one of the images."""

    service: str
    name: str
    url: str
    env: dict[str, str]
    id: str = ""
    volumes: list[str] = field(default_factory=list)

    def start(self, env_file: Path) -> None:
        env_file.write_text("".join(f"{key}={value}\n" for key, value in self.env.items()))
        env_file.chmod(0o600)
        mounts = [arg for volume in self.volumes for arg in ("-v", volume)]
        args = ["run", "-d", "--name", self.name, "--network", "host", "--memory", MEMORY_LIMIT]
        args += ["--memory-swap", MEMORY_LIMIT, "--env-file", str(env_file), *mounts, image(self.service)]
        self.id = docker(*args).stdout.strip()

    def wait_healthy(self, path: str, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited:\n{self.logs()}")
            try:
                response = httpx.get(self.url + path, timeout=5)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"{self.name}{path}: {last} after {timeout_s:.0f} s\n{self.logs()}")

    def state(self) -> dict:
        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name).stdout)

    def running(self) -> bool:
        return bool(self.state().get("Running"))

    def oom_killed(self) -> bool:
        return bool(self.state().get("OOMKilled"))

    def peak_memory_bytes(self) -> int:
        """The cgroup's memory high-water mark since the container started."""
        for pattern in PEAK_FILES:
            peak = CGROUP / pattern.format(id=self.id)
            if peak.exists():
                return int(peak.read_text())
        usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.name).stdout.strip()
        raise RuntimeError(f"no memory high-water mark found for {self.name} (now using {usage})")

    def anonymous_memory_bytes(self) -> int:
        """What the container's processes hold that the kernel cannot reclaim (heap, stacks: what an
        OOM kill is about), unlike its usage, which also counts page cache such as spooled uploads."""
        for pattern, key in STAT_FILES:
            stat = CGROUP / pattern.format(id=self.id)
            if stat.exists():
                return int(dict(line.split() for line in stat.read_text().splitlines())[key])
        raise RuntimeError(f"no memory.stat found for {self.name}")

    def logs(self, tail: int = 200) -> str:
        result = docker("logs", "--tail", str(tail), self.name, check=False)
        return result.stdout + result.stderr

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False, timeout=60)


class AnonymousPeak:
    """A container's anonymous memory (what an OOM kill is about), sampled in a thread while in use:
    cgroup v1 keeps a high-water mark of usage only, and usage counts page cache (files the container
    wrote or read, such as MLflow's artifacts or a spooled upload), which the kernel reclaims at the
    limit instead of killing anything, so usage reaches 512 MB in runs where nothing was short."""

    def __init__(self, container: Container, interval_s: float = 0.05) -> None:
        self.container, self.interval_s, self.peak = container, interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.peak = max(self.peak, self.container.anonymous_memory_bytes())
            except (OSError, RuntimeError):  # the container is gone: its last samples stand
                return

    def start(self) -> AnonymousPeak:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> AnonymousPeak:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
