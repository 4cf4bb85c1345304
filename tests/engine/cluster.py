"""Real worker processes for the end-to-end and fault tests: `manage.py qcluster` on the test
database, a real SMTP server (aiosmtpd), and polling helpers."""

import email
import email.policy
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


class Mailbox:
    def __init__(self):
        self.messages, self.lock = [], threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "email": email.message_from_bytes(envelope.content, policy=email.policy.default),
                    "at": time.time(),
                }
            )
        return "250 Message accepted for delivery"

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if address in m["to"]]

    def count(self):
        with self.lock:
            return len(self.messages)


class SMTPServer:
    def __init__(self):
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class Cluster:
    """One `manage.py qcluster` process group (the guard, its worker processes, pusher, monitor)."""

    def __init__(self, smtp_port, workers=2, log_path=None, **env):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.engine.worker_settings",
            "WAYLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "WAYLINE_VAR_DIR": str(settings.VAR_DIR),
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "Q_WORKERS": str(workers),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
            **{key: str(value) for key, value in env.items()},
        }
        self.log_path = log_path or Path(settings.VAR_DIR) / f"qcluster-{os.getpid()}-{time.monotonic_ns()}.log"
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self):
        """SIGKILL every process of the cluster at once: a machine or container dying."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()

    def output(self):
        return Path(self.log_path).read_text(errors="replace")[-5000:]


def wait_for(condition, timeout=60.0, interval=0.1, message="condition"):
    """Poll until condition() is truthy; returns its value. Fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def child_pids(pid):
    """The process ids below `pid` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            children.append(int(entry.name))
    return children
