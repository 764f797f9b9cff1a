"""Tests of the tpool Python client: against a real tpoold from the build
tree, started on a socket in a temporary folder with the build's example
plugins, and against a fake daemon in a thread for what a real one never
sends (short reads, frames over the limit, another version).

Environment (python/tests/run.sh sets it from the build tree):
  TPOOLD            the daemon to run (the build's daemon/tpoold)
  TPOOL_PLUGIN_DIR  where the example plugins' .so files are (plugins/.libs)
  CK_TIMEOUT_MULTIPLIER  scales every wait (slow builds: valgrind, TSan)
The tpool package, with its generated tpool_pb2, must be importable.
"""

import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import tpool
from tpool import pb


def _multiplier():
    try:
        return max(1, int(os.environ.get("CK_TIMEOUT_MULTIPLIER", "1")))
    except ValueError:
        return 1


# How long anything that must happen may take, in seconds.
DEADLINE = 30.0 * _multiplier()
PLUGINS = ("echo", "sleep", "fail", "sha256")
MAX_FRAME = 200000


def _need_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the tests through python/tests/run.sh "
                           f"(make check), or set it (see this file's docstring)")
    return value


def _die_with_parent():
    # The daemon is killed if the test process dies without stopping it.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Daemon:
    """The build's tpoold on a socket in a fresh folder, ready (READY=1 on
    a notify socket of ours, as systemd would see it)."""

    def __init__(self, *args):
        tpoold = _need_env("TPOOLD")
        plugin_src = _need_env("TPOOL_PLUGIN_DIR")
        self.dir = tempfile.mkdtemp(prefix="tpool-py-")
        self.proc = None
        try:
            self.sock = os.path.join(self.dir, "tpoold.sock")
            self.log_path = os.path.join(self.dir, "tpoold.log")
            plugins = os.path.join(self.dir, "plugins")
            # tpoold refuses plugins and folders that others may write.
            os.mkdir(plugins, 0o755)
            for name in PLUGINS:
                dst = os.path.join(plugins, name + ".so")
                shutil.copyfile(os.path.join(plugin_src, name + ".so"), dst)
                os.chmod(dst, 0o755)
            notify_path = os.path.join(self.dir, "notify")
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(notify_path)
            env = dict(os.environ, NOTIFY_SOCKET=notify_path)
            for var in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "TPOOL_SOCKET"):
                env.pop(var, None)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [tpoold, "-s", self.sock, "-p", plugins, "-v", *args],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=env, preexec_fn=_die_with_parent)
            try:
                self._wait_ready(notify)
            finally:
                notify.close()
        except BaseException:
            self.cleanup()
            raise

    def _wait_ready(self, notify):
        end = time.monotonic() + DEADLINE
        notify.settimeout(0.1)
        while time.monotonic() < end:
            try:
                if b"READY=1" in notify.recv(4096):
                    return
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"tpoold exited with {self.proc.returncode} before "
                                   f"it was ready:\n{self.log()}")
        raise RuntimeError(f"tpoold did not say READY=1:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM and wait; its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class DaemonTest(unittest.TestCase):
    """Against the real daemon: one for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon("--max-frame", str(MAX_FRAME), "--retry-backoff", "50ms")

    @classmethod
    def tearDownClass(cls):
        try:
            status = cls.daemon.stop()
            if status != 0:
                raise AssertionError(f"tpoold exited with {status}:\n{cls.daemon.log()}")
        finally:
            cls.daemon.cleanup()

    def connect(self, **kw):
        c = tpool.Client(self.daemon.sock, timeout=DEADLINE, **kw)
        self.addCleanup(c.close)
        return c

    def assertDaemonError(self, name, call, *args, **kw):
        with self.assertRaises(tpool.DaemonError) as cm:
            call(*args, **kw)
        self.assertEqual(cm.exception.name, name, cm.exception)
        self.assertEqual(cm.exception.code, pb.ErrorCode.Value(name))
        self.assertTrue(cm.exception.message)
        return cm.exception

    # -- connection

    def test_hello(self):
        c = self.connect()
        self.assertEqual(c.hello.version, tpool.PROTOCOL_VERSION)
        self.assertEqual(c.server_version, tpool.__version__)
        self.assertEqual(c.max_frame, MAX_FRAME)
        self.assertEqual(c.uid, os.getuid())

    def test_default_socket_from_environment(self):
        old = os.environ.get("TPOOL_SOCKET")
        os.environ["TPOOL_SOCKET"] = self.daemon.sock
        try:
            with tpool.Client() as c:
                self.assertEqual(c.path, self.daemon.sock)
                self.assertIn("echo", [p.name for p in c.plugins()])
            self.assertTrue(c.closed)
            del os.environ["TPOOL_SOCKET"]
            self.assertEqual(tpool.default_socket(), "/run/tpool/tpoold.sock")
        finally:
            if old is None:
                os.environ.pop("TPOOL_SOCKET", None)
            else:
                os.environ["TPOOL_SOCKET"] = old

    # -- jobs

    def test_echo(self):
        c = self.connect()
        data = b"hello, python\x00\xff\n"
        job_id = c.submit("echo", data)
        self.assertGreater(job_id, 0)
        job = c.wait(job_id, timeout=DEADLINE)
        self.assertEqual(tpool.state_name(job.state), "JOB_SUCCEEDED")
        self.assertEqual(job.job_id, job_id)
        self.assertEqual(job.plugin, "echo")
        self.assertEqual(job.name, "echo")
        self.assertEqual(job.result, data)
        self.assertEqual(job.uid, os.getuid())
        self.assertTrue(tpool.is_final(job.state))
        # Asked again, the daemon still has it, result and all.
        again = c.status(job_id)
        self.assertEqual(again.state, pb.JOB_SUCCEEDED)
        self.assertEqual(again.result, data)
        # Another connection waits on the finished job: the WatchReply has it.
        self.assertEqual(self.connect().wait(job_id, timeout=DEADLINE).result, data)

    def test_sha256(self):
        c = self.connect()
        for data in (b"abc", b"", bytes(range(256)) * 100):
            job = c.run("sha256", data, timeout=DEADLINE)
            self.assertEqual(job.state, pb.JOB_SUCCEEDED, job.message)
            self.assertEqual(job.result.decode(), hashlib.sha256(data).hexdigest())
        self.assertEqual(
            c.run("sha256", b"abc", timeout=DEADLINE).result,
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        job = c.run("sha256", b"repeat:1000:tpool ", timeout=DEADLINE)
        self.assertEqual(job.result.decode(), hashlib.sha256(b"tpool " * 1000).hexdigest())

    def test_submit_options(self):
        c = self.connect()
        cpu = min(os.sched_getaffinity(0))
        job = c.run("echo", "text", name="py-job", pool="percpu", cpu=cpu, priority=10,
                    timeout=DEADLINE)
        self.assertEqual(job.state, pb.JOB_SUCCEEDED, job.message)
        self.assertEqual(job.result, b"text")
        self.assertEqual(job.name, "py-job")
        self.assertEqual(job.pool, pb.POOL_PERCPU)
        self.assertEqual(job.cpu, cpu)
        self.assertEqual(job.ran_on_cpu, cpu)
        self.assertEqual(job.priority, 10)

    def test_failed_job_and_retries(self):
        c = self.connect()
        job = c.run("fail", b"it broke", retries=1, timeout=DEADLINE)
        self.assertEqual(job.state, pb.JOB_FAILED)
        self.assertEqual(job.message, "it broke")
        self.assertEqual(job.retries, 1)
        self.assertEqual(job.attempt, 2)

    def test_time_limit(self):
        c = self.connect()
        start = time.monotonic()
        job = c.run("sleep", b"60000", timeout_ms=200, timeout=DEADLINE)
        self.assertEqual(tpool.state_name(job.state), "JOB_TIMED_OUT", job.message)
        self.assertLess(time.monotonic() - start, DEADLINE)

    def test_progress(self):
        c = self.connect()
        seen = []
        job = c.run("sleep", b"800", on_progress=lambda p, m: seen.append((p, m)),
                    timeout=DEADLINE)
        self.assertEqual(job.state, pb.JOB_SUCCEEDED, job.message)
        self.assertEqual(job.result, b"slept 800 ms")
        self.assertEqual(job.progress, 100)
        self.assertGreaterEqual(len(seen), 2, seen)
        percents = [p for p, _ in seen]
        self.assertEqual(percents, sorted(percents), seen)
        self.assertTrue(all(0 <= p <= 100 for p in percents), seen)
        self.assertTrue(all(m == "sleeping" or m == "done" or re.fullmatch(r"\d+ of 800 ms", m)
                            for _, m in seen), seen)

    def test_watch_from_another_connection(self):
        submitter, watcher = self.connect(), self.connect()
        job_id = submitter.submit("sleep", b"600")
        seen = []
        job = watcher.wait(job_id, on_progress=lambda p, m: seen.append(p), timeout=DEADLINE)
        self.assertEqual(job.state, pb.JOB_SUCCEEDED, job.message)
        self.assertEqual(job.result, b"slept 600 ms")
        self.assertTrue(seen)
        # The submitter got the events without asking.
        self.assertEqual(submitter.wait(job_id, timeout=DEADLINE).result, b"slept 600 ms")

    def test_events(self):
        c = self.connect()
        job_id = c.submit("echo", b"e")
        kinds = []
        while not kinds or kinds[-1] != "finished":
            ev = c.next_event(timeout=DEADLINE)
            self.assertEqual(ev.job_id, job_id)
            kinds.append(ev.WhichOneof("kind"))
            if kinds[-1] == "finished":
                self.assertEqual(ev.finished.job.result, b"e")
        self.assertEqual(kinds[0], "started")
        self.assertEqual(kinds.count("finished"), 1)
        with self.assertRaises(tpool.Timeout):
            c.next_event(timeout=0.2)
        # The connection goes on after a timeout.
        self.assertTrue(c.stats().uptime_ms > 0)

    def test_cancel_running(self):
        c = self.connect()
        job_id = c.submit("sleep", b"60000")
        while True:                     # until it runs
            ev = c.next_event(timeout=DEADLINE)
            if ev.job_id == job_id and ev.WhichOneof("kind") == "started":
                break
        start = time.monotonic()
        reply = c.cancel(job_id, wait=True)
        self.assertEqual(tpool.cancel_result_name(reply.result), "CANCEL_TOO_LATE")
        self.assertEqual(reply.job.state, pb.JOB_CANCELLED)
        self.assertLess(time.monotonic() - start, 10)
        job = c.wait(job_id, timeout=DEADLINE)
        self.assertEqual(tpool.state_name(job.state), "JOB_CANCELLED")
        self.assertTrue(job.cancel_requested)
        again = c.cancel(job_id)
        self.assertEqual(again.result, pb.CANCEL_ALREADY_FINISHED)

    def test_cancel_scheduled(self):
        c = self.connect()
        job_id = c.submit("echo", b"later", delay_ms=60000)
        job = c.status(job_id)
        self.assertEqual(tpool.state_name(job.state), "JOB_SCHEDULED")
        self.assertGreater(job.delay_left_ms, 50000)
        reply = c.cancel(job_id)
        self.assertEqual(reply.result, pb.CANCEL_BEFORE_RUN)
        self.assertEqual(c.wait(job_id, timeout=DEADLINE).state, pb.JOB_CANCELLED)

    def test_unique_key(self):
        c = self.connect()
        first = c.submit_reply("sleep", b"60000", unique_key="py-unique")
        second = c.submit_reply("sleep", b"60000", unique_key="py-unique")
        self.assertFalse(first.existing)
        self.assertTrue(second.existing)
        self.assertEqual(first.job_id, second.job_id)
        self.assertEqual(c.status(first.job_id).unique_key, "py-unique")
        c.cancel(first.job_id, wait=True)

    def test_jobs_list(self):
        c = self.connect()
        ids = [c.submit("echo", str(i)) for i in range(3)]
        for job_id in ids:
            c.wait(job_id, timeout=DEADLINE)
        jobs = c.jobs()
        listed = [j.job_id for j in jobs]
        self.assertEqual(listed, sorted(listed))
        for job_id in ids:
            self.assertIn(job_id, listed)
        self.assertFalse(any(j.HasField("result") for j in jobs))
        # Page by page, one job a page: the same list.
        self.assertEqual([j.job_id for j in c.jobs(limit=1)], listed)
        page = c.status_page(limit=1)
        self.assertEqual(len(page.jobs), 1)
        self.assertEqual(page.jobs[0].job_id, listed[-1])
        self.assertEqual(page.more_before, listed[-1])

    # -- errors

    def test_unknown_plugin(self):
        c = self.connect()
        e = self.assertDaemonError("ERROR_UNKNOWN_PLUGIN", c.submit, "no-such-plugin", b"")
        self.assertNotEqual(e.request_id, 0)
        # An error of one request leaves the connection as it was.
        self.assertEqual(c.run("echo", b"after", timeout=DEADLINE).result, b"after")

    def test_no_such_job(self):
        c = self.connect()
        missing = c.submit("echo", b"") + 1000000
        e = self.assertDaemonError("ERROR_NO_SUCH_JOB", c.status, missing)
        self.assertEqual(e.message, f"no job {missing}")
        self.assertDaemonError("ERROR_NO_SUCH_JOB", c.cancel, missing)
        self.assertDaemonError("ERROR_NO_SUCH_JOB", c.wait, missing, timeout=DEADLINE)

    def test_invalid_cpu(self):
        c = self.connect()
        self.assertDaemonError("ERROR_INVALID_CPU", c.submit, "echo", b"", cpu=0)
        self.assertDaemonError("ERROR_INVALID_PRIORITY", c.submit, "echo", b"", priority=1000)

    def test_request_too_large(self):
        c = self.connect()
        with self.assertRaises(tpool.RequestTooLarge):
            c.submit("echo", b"x" * MAX_FRAME)
        self.assertFalse(c.closed)
        # Just under the limit with the frame's other fields: accepted.
        self.assertEqual(len(c.run("echo", b"y" * (MAX_FRAME - 64), timeout=DEADLINE).result),
                         MAX_FRAME - 64)

    def test_daemon_refuses_oversize_frame(self):
        c = self.connect()
        os.write(c.fileno(), struct.pack(">I", MAX_FRAME + 1))
        e = self.assertDaemonError("ERROR_FRAME_TOO_LARGE", c.plugins)
        self.assertEqual(e.request_id, 0)
        self.assertTrue(c.closed)
        with self.assertRaises(tpool.ConnectionClosed):
            c.stats()

    def test_daemon_refuses_malformed_frame(self):
        c = self.connect()
        os.write(c.fileno(), struct.pack(">I", 3) + b"\xff\xff\xff")
        e = self.assertDaemonError("ERROR_BAD_REQUEST", c.stats)
        self.assertEqual(e.request_id, 0)
        self.assertTrue(c.closed)

    # -- the daemon

    def test_plugins(self):
        plugins = {p.name: p for p in self.connect().plugins()}
        self.assertEqual(sorted(plugins), sorted(PLUGINS))
        self.assertEqual(plugins["echo"].isolation, "thread")
        self.assertTrue(plugins["sha256"].description)

    def test_stats_and_metrics(self):
        c = self.connect()
        c.run("echo", b"counted", timeout=DEADLINE)
        stats = c.stats()
        self.assertGreaterEqual(stats.jobs_accepted, 1)
        self.assertGreaterEqual(stats.jobs_succeeded, 1)
        self.assertGreaterEqual(stats.connections, 1)
        self.assertEqual(stats.plugins, len(PLUGINS))
        self.assertGreater(stats.uptime_ms, 0)
        limits = {lim.name: lim for lim in stats.limits}
        self.assertEqual(limits["max-frame"].value, MAX_FRAME)
        self.assertEqual(limits["max-frame"].unit, pb.LIMIT_BYTES)
        text = c.metrics()
        self.assertIn("# TYPE tpool_jobs_accepted_total counter\n", text)
        accepted = re.findall(r'^tpool_jobs_accepted_total\{plugin="([^"]+)"\} (\d+)$', text, re.M)
        self.assertIn("echo", [plugin for plugin, _ in accepted], text)
        # Nothing else submits meanwhile: the same count both ways.
        self.assertEqual(sum(int(n) for _, n in accepted), stats.jobs_accepted)


class FakeDaemon:
    """A Unix socket that a thread serves with script(conn), for what a
    real daemon never sends."""

    def __init__(self, script):
        self.dir = tempfile.mkdtemp(prefix="tpool-py-fake-")
        self.path = os.path.join(self.dir, "fake.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(DEADLINE)
        self.error = None
        self.thread = threading.Thread(target=self._serve, args=(script,))
        self.thread.start()

    def _serve(self, script):
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(DEADLINE)
                script(conn)
        except BaseException as e:      # reported by close()
            self.error = e

    def close(self):
        self.thread.join(DEADLINE)
        self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.error is not None:
            raise self.error


def read_request(conn):
    def exactly(n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise EOFError("the client closed")
            buf += chunk
        return buf
    (n,) = struct.unpack(">I", exactly(4))
    req = pb.Request()
    req.ParseFromString(exactly(n))
    return req


def response(request_id, **body):
    return pb.ServerMessage(response=pb.Response(request_id=request_id, **body))


def hello_reply(request_id, version=1, max_frame=1 << 20):
    return response(request_id, hello=pb.HelloReply(version=version, server_version="0.1.0",
                                                    max_frame=max_frame, uid=os.getuid()))


def wait_closed(conn):
    """Until the client closes its end."""
    while conn.recv(4096):
        pass


class FakeDaemonTest(unittest.TestCase):

    def run_fake(self, script):
        fake = FakeDaemon(script)
        self.addCleanup(fake.close)
        return fake

    def test_short_reads(self):
        def script(conn):
            req = read_request(conn)
            assert req.request_id == 1 and req.WhichOneof("body") == "hello", req
            assert req.hello.version == 1, req
            for b in tpool.encode_frame(hello_reply(1)):    # a byte at a time
                conn.sendall(bytes([b]))
                time.sleep(0.001)
            req = read_request(conn)
            assert req.WhichOneof("body") == "list_plugins", req
            frame = tpool.encode_frame(response(req.request_id, plugins=pb.PluginList(
                plugins=[pb.PluginInfo(name="x" * 5000)])))
            conn.sendall(frame[:3])
            time.sleep(0.05)
            conn.sendall(frame[3:2000])
            time.sleep(0.05)
            conn.sendall(frame[2000:])
            wait_closed(conn)

        fake = self.run_fake(script)
        with tpool.Client(fake.path, timeout=DEADLINE) as c:
            self.assertEqual(c.max_frame, 1 << 20)
            self.assertEqual([p.name for p in c.plugins()], ["x" * 5000])

    def test_oversize_frame_from_daemon(self):
        def script(conn):
            read_request(conn)
            conn.sendall(tpool.encode_frame(hello_reply(1)))
            req = read_request(conn)
            conn.sendall(struct.pack(">I", 0x7fffffff))  # and no body
            wait_closed(conn)

        fake = self.run_fake(script)
        c = tpool.Client(fake.path, timeout=DEADLINE, max_recv_frame=1 << 20)
        with self.assertRaisesRegex(tpool.ProtocolError, "2147483647 bytes"):
            c.stats()
        self.assertTrue(c.closed)

    def test_other_version(self):
        def script(conn):
            read_request(conn)
            conn.sendall(tpool.encode_frame(hello_reply(1, version=2)))
            wait_closed(conn)

        fake = self.run_fake(script)
        with self.assertRaises(tpool.VersionError):
            tpool.Client(fake.path, timeout=DEADLINE)

    def test_what_is_skipped_and_kept(self):
        def script(conn):
            read_request(conn)
            conn.sendall(tpool.encode_frame(hello_reply(1)))
            req = read_request(conn)
            # A message of a kind from a newer daemon (empty), a late answer
            # of another request, an event: then the answer.
            conn.sendall(tpool.encode_frame(pb.ServerMessage())
                         + tpool.encode_frame(response(99, metrics=pb.MetricsReply(text="late")))
                         + tpool.encode_frame(pb.ServerMessage(event=pb.Event(
                             job_id=7, progress=pb.JobProgress(percent=40, message="m"))))
                         + tpool.encode_frame(response(req.request_id,
                                                       metrics=pb.MetricsReply(text="now"))))
            wait_closed(conn)

        fake = self.run_fake(script)
        with tpool.Client(fake.path, timeout=DEADLINE) as c:
            self.assertEqual(c.metrics(), "now")
            ev = c.next_event(timeout=DEADLINE)
            self.assertEqual((ev.job_id, ev.progress.percent), (7, 40))

    def test_closed_mid_frame(self):
        def script(conn):
            read_request(conn)
            conn.sendall(tpool.encode_frame(hello_reply(1)))
            read_request(conn)
            conn.sendall(tpool.encode_frame(response(2, stats=pb.StatsReply()))[:5])

        fake = self.run_fake(script)
        with tpool.Client(fake.path, timeout=DEADLINE) as c:
            with self.assertRaisesRegex(tpool.ConnectionClosed, "middle of a frame"):
                c.stats()

    def test_wrong_reply(self):
        def script(conn):
            read_request(conn)
            conn.sendall(tpool.encode_frame(hello_reply(1)))
            req = read_request(conn)
            conn.sendall(tpool.encode_frame(response(req.request_id, stats=pb.StatsReply())))
            wait_closed(conn)

        fake = self.run_fake(script)
        c = tpool.Client(fake.path, timeout=DEADLINE)
        with self.assertRaises(tpool.ProtocolError):
            c.metrics()
        self.assertTrue(c.closed)


class WireTest(unittest.TestCase):
    """The bytes docs/protocol.md shows, as this package encodes them."""

    def test_submit_frame(self):
        req = pb.Request(request_id=2, submit=pb.Submit(
            plugin="echo", input=b"hi", pool=pb.POOL_PERCPU, priority=-1, cpu=1))
        self.assertEqual(tpool.encode_frame(req).hex(" "),
                         "00 00 00 14 08 02 1a 10 0a 04 65 63 68 6f 12 02 68 69 "
                         "20 01 28 01 30 02")

    def test_submit_reply_frame(self):
        msg = pb.ServerMessage(response=pb.Response(request_id=2,
                                                    submit=pb.SubmitReply(job_id=17)))
        self.assertEqual(tpool.encode_frame(msg).hex(" "),
                         "00 00 00 08 0a 06 08 02 22 02 08 11")

    def test_hello_frame(self):
        req = pb.Request(request_id=1, hello=pb.Hello(version=1, client_name="tpctl"))
        self.assertEqual(tpool.encode_frame(req).hex(" "),
                         "00 00 00 0d 08 01 12 09 08 01 12 05 74 70 63 74 6c")

    def test_empty_bodies(self):
        for field, tag in (("status", "2a"), ("list_plugins", "32"), ("stats", "3a"),
                           ("metrics", "4a")):
            req = pb.Request(request_id=3)
            getattr(req, field).SetInParent()
            self.assertEqual(req.SerializeToString().hex(" "), f"08 03 {tag} 00")


if __name__ == "__main__":
    unittest.main()
