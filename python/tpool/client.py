"""A client of tpoold's wire protocol (docs/protocol.md, version 1).

One Client is one connection to the daemon's Unix socket.  Requests are
answered in turn (each call sends one request and reads until its
response); the events of the jobs the connection submitted or watches
that arrive meanwhile are kept until wait() or next_event() takes them.
A Client is not safe to share between threads without a lock of the
caller's: give each thread its own.
"""

import os
import select
import socket
import struct
import time

try:
    from . import tpool_pb2 as pb
except ImportError as e:
    if (e.name or "").startswith("google"):
        raise                           # no protobuf package: its own message
    raise ImportError(
        "tpool's messages (tpool/tpool_pb2.py) are not there: generate them "
        "from tpool.proto with python/gen.sh of the tpool sources (protoc), "
        "then install again") from e

__all__ = [
    "Client",
    "TpoolError",
    "ConnectionClosed",
    "ProtocolError",
    "VersionError",
    "RequestTooLarge",
    "Timeout",
    "DaemonError",
    "DEFAULT_SOCKET",
    "SOCKET_ENV",
    "PROTOCOL_VERSION",
    "MAX_FRAME_DEFAULT",
    "default_socket",
    "encode_frame",
    "is_final",
    "state_name",
    "error_name",
    "cancel_result_name",
]

#: The daemon's socket when no path is given and $TPOOL_SOCKET is unset.
DEFAULT_SOCKET = "/run/tpool/tpoold.sock"
#: The environment variable that names another socket.
SOCKET_ENV = "TPOOL_SOCKET"
#: The protocol version this client speaks.
PROTOCOL_VERSION = pb.PROTOCOL_VERSION_CURRENT
#: The largest frame body accepted from the daemon unless Client(max_recv_frame=).
MAX_FRAME_DEFAULT = 16 << 20

_HEADER = struct.Struct(">I")
_FINAL_STATES = frozenset({
    pb.JOB_SUCCEEDED, pb.JOB_FAILED, pb.JOB_CANCELLED, pb.JOB_EXPIRED,
    pb.JOB_TIMED_OUT, pb.JOB_INTERRUPTED,
})
_POOLS = {"unbound": pb.POOL_UNBOUND, "percpu": pb.POOL_PERCPU}
# The Response body that answers each Request body.
_REPLY_OF = {
    "hello": "hello", "submit": "submit", "cancel": "cancel",
    "status": "status", "list_plugins": "plugins", "stats": "stats",
    "watch": "watch", "metrics": "metrics",
}


# ------------------------------------------------------------------ errors

class TpoolError(Exception):
    """Every error of this package."""


class ConnectionClosed(TpoolError):
    """The connection ended (or was closed here) before the answer came."""


class ProtocolError(TpoolError):
    """The daemon sent what the protocol does not allow: a frame over this
    client's limit, a body that is not a ServerMessage, a reply of the
    wrong kind.  The connection is closed."""


class VersionError(ProtocolError):
    """The daemon speaks another protocol version.  The connection is
    closed."""


class RequestTooLarge(TpoolError):
    """A request's body is over the daemon's max_frame (HelloReply): it was
    not sent, and the connection goes on."""


class Timeout(TpoolError, TimeoutError):
    """The call's time ran out.  A request already sent whole stays owed
    (its late answer is skipped); one cut off mid-frame closes the
    connection."""


class DaemonError(TpoolError):
    """The daemon answered with an Error.

    code: the ErrorCode number; name: its name ("ERROR_NO_SUCH_JOB");
    message: the daemon's text, for people; request_id: 0 when the error is
    about the connection itself (the daemon closes it after)."""

    def __init__(self, code, message, request_id=0):
        self.code = code
        self.name = error_name(code)
        self.message = message
        self.request_id = request_id
        super().__init__(f"{self.name}: {message}")


# ----------------------------------------------------------------- helpers

def default_socket():
    """$TPOOL_SOCKET when set and not empty, else DEFAULT_SOCKET."""
    return os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


def encode_frame(message):
    """One frame: the 4-byte big-endian body length, then the body."""
    body = message.SerializeToString()
    return _HEADER.pack(len(body)) + body


def is_final(state):
    """Is a JobState one a job ends in?"""
    return state in _FINAL_STATES


def _enum_name(enum, value):
    try:
        return enum.Name(value)
    except ValueError:
        return str(value)


def state_name(state):
    """"JOB_SUCCEEDED" for pb.JOB_SUCCEEDED (the number for one unknown)."""
    return _enum_name(pb.JobState, state)


def error_name(code):
    """"ERROR_NO_SUCH_JOB" for its ErrorCode (the number for one unknown)."""
    return _enum_name(pb.ErrorCode, code)


def cancel_result_name(result):
    """"CANCEL_BEFORE_RUN" for its CancelResult."""
    return _enum_name(pb.CancelResult, result)


def _pool(pool):
    if isinstance(pool, str):
        try:
            return _POOLS[pool.lower()]
        except KeyError:
            raise ValueError(f"pool must be 'unbound' or 'percpu', not {pool!r}") from None
    return pool


# ------------------------------------------------------------------ client

class Client:
    """A connection to tpoold.

    path: the daemon's socket (default: default_socket()).  timeout: the
    seconds each call may take, None to wait as long as it takes.
    max_recv_frame: the largest frame body accepted from the daemon
    (checked from the header, before anything is buffered).  client_name:
    for the daemon's logs.  The Hello is exchanged at once; its reply is
    .hello, and .max_frame the daemon's limit on a request's body.
    """

    def __init__(self, path=None, *, timeout=None, max_recv_frame=MAX_FRAME_DEFAULT,
                 client_name="tpool-python"):
        if max_recv_frame < 64:
            raise ValueError("max_recv_frame must be at least 64 bytes")
        self.path = path if path is not None else default_socket()
        self.timeout = timeout
        self.max_recv_frame = max_recv_frame
        # The daemon's limit on our requests, once Hello told it.
        self.max_frame = None
        self.hello = None
        self._sock = None
        self._rbuf = bytearray()
        self._eof = False
        self._next_id = 1
        self._events = []
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.settimeout(timeout)
            sock.connect(self.path)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        try:
            self._say_hello(client_name)
        except BaseException:
            self.close()
            raise

    # -- connection

    def close(self):
        """Close the connection.  Jobs it submitted go on."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def closed(self):
        return self._sock is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self):
        """The socket's descriptor.  What the daemon sent may already be
        read into the client's buffer: poll with next_event(timeout=0)."""
        self._check_open()
        return self._sock.fileno()

    def _say_hello(self, client_name):
        hello = pb.Hello(version=PROTOCOL_VERSION)
        if client_name is not None:
            hello.client_name = client_name
        reply = self._call("hello", hello)
        if not reply.HasField("version") or reply.version != PROTOCOL_VERSION:
            self.close()
            raise VersionError(
                f"the daemon speaks protocol version {reply.version}, "
                f"this client {PROTOCOL_VERSION}")
        self.hello = reply
        if reply.max_frame > 0:
            self.max_frame = reply.max_frame

    @property
    def server_version(self):
        """The daemon's package version, e.g. "0.1.0"."""
        return self.hello.server_version

    @property
    def uid(self):
        """The uid the daemon sees for this connection."""
        return self.hello.uid

    # -- requests

    def submit(self, plugin, input=b"", **options):
        """Submit a job; its id.  The options are those of submit_reply()."""
        return self.submit_reply(plugin, input, **options).job_id

    def submit_reply(self, plugin, input=b"", *, name=None, pool=None,
                     priority=None, cpu=None, deadline_ms=None, timeout_ms=None,
                     delay_ms=None, unique_key=None, retries=None):
        """Submit a job; the SubmitReply (job_id, and existing: true when
        unique_key found a job of the caller's in flight, whose id it is).

        input: bytes (a str is sent as UTF-8).  pool: "unbound" or
        "percpu" (or pb.POOL_*).  An option left None is not sent, so the
        daemon's default applies (docs/protocol.md, Submit)."""
        if isinstance(input, str):
            input = input.encode()
        msg = pb.Submit(plugin=plugin, input=bytes(input))
        if pool is not None:
            msg.pool = _pool(pool)
        for field, value in (("name", name), ("priority", priority), ("cpu", cpu),
                             ("deadline_ms", deadline_ms), ("timeout_ms", timeout_ms),
                             ("delay_ms", delay_ms), ("unique_key", unique_key),
                             ("retries", retries)):
            if value is not None:
                setattr(msg, field, value)
        return self._call("submit", msg)

    def status(self, job_id):
        """One job's JobInfo, its result included."""
        reply = self._call("status", pb.Status(job_id=job_id))
        if len(reply.jobs) != 1:
            raise ProtocolError(f"status of one job answered with {len(reply.jobs)}")
        return reply.jobs[0]

    def status_page(self, *, before_id=None, limit=None, all=False):
        """One page of the job list: the StatusReply (jobs, oldest first,
        and more_before when older jobs are left)."""
        msg = pb.Status()
        if all:
            msg.all = True
        if before_id is not None:
            msg.before_id = before_id
        if limit is not None:
            msg.limit = limit
        return self._call("status", msg)

    def jobs(self, *, all=False, limit=None):
        """Every job the daemon keeps of the caller's uid (all: every
        user's, root only), oldest first, without results, asked page by
        page (limit: jobs a page, 1..1000; None: the daemon's 1000)."""
        pages = []
        before = None
        while True:
            reply = self.status_page(before_id=before, limit=limit, all=all)
            pages.append(list(reply.jobs))
            if not reply.HasField("more_before"):
                break
            before = reply.more_before
        return [job for page in reversed(pages) for job in page]

    def watch(self, job_id):
        """Receive the job's events on this connection too; its JobInfo now."""
        return self._call("watch", pb.Watch(job_id=job_id)).job

    def wait(self, job_id, on_progress=None, timeout=None):
        """Wait for the job's end; its final JobInfo.

        on_progress(percent, message) is called for each progress event
        (they may be coalesced).  timeout: seconds in all (None: as long as
        the job takes), else Timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self._take_finished(job_id, on_progress)
        if job is not None:
            return job
        job = self._call("watch", pb.Watch(job_id=job_id), deadline=deadline).job
        finished = self._take_finished(job_id, on_progress)
        if finished is not None:
            return finished
        if is_final(job.state):
            return job
        while True:
            ev = self._read_event(deadline)
            if ev.job_id != job_id:
                self._events.append(ev)
                continue
            kind = ev.WhichOneof("kind")
            if kind == "finished":
                return ev.finished.job
            if kind == "progress" and on_progress is not None:
                on_progress(ev.progress.percent, ev.progress.message)

    def run(self, plugin, input=b"", on_progress=None, timeout=None, **options):
        """submit() and wait(): the job's final JobInfo."""
        return self.wait(self.submit(plugin, input, **options), on_progress, timeout)

    def cancel(self, job_id, wait=False):
        """Cancel a job: the CancelReply (result: pb.CANCEL_*; job: as it
        is then, or with wait, once it no longer runs, its final state)."""
        msg = pb.Cancel(job_id=job_id)
        if wait:
            msg.wait = True
        return self._call("cancel", msg)

    def plugins(self):
        """The daemon's plugins: a list of PluginInfo."""
        return list(self._call("list_plugins", pb.ListPlugins()).plugins)

    def stats(self):
        """The daemon's counters, pools and limits: a StatsReply."""
        return self._call("stats", pb.Stats())

    def metrics(self):
        """The daemon's metrics in Prometheus's text format."""
        return self._call("metrics", pb.Metrics()).text

    def next_event(self, timeout=None):
        """The next Event of a job this connection submitted or watches
        (a kept one first); Timeout after timeout seconds (None: wait)."""
        if self._events:
            return self._events.pop(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._read_event(deadline)

    # -- the exchange

    def _take_finished(self, job_id, on_progress):
        """Take the kept events of job_id: its final JobInfo if one was
        finished, else None (its progress passed to on_progress)."""
        mine = [ev for ev in self._events if ev.job_id == job_id]
        if not mine:
            return None
        self._events = [ev for ev in self._events if ev.job_id != job_id]
        for ev in mine:
            kind = ev.WhichOneof("kind")
            if kind == "finished":
                return ev.finished.job
            if kind == "progress" and on_progress is not None:
                on_progress(ev.progress.percent, ev.progress.message)
        return None

    def _check_open(self):
        if self._sock is None:
            raise ConnectionClosed("the connection is closed")

    def _deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _call(self, kind, body, deadline=None):
        """Send one request and read until its response; its body."""
        self._check_open()
        if deadline is None:
            deadline = self._deadline()
        rid = self._next_id
        self._next_id += 1
        req = pb.Request(request_id=rid)
        getattr(req, kind).SetInParent()     # present even when empty
        getattr(req, kind).CopyFrom(body)
        frame = encode_frame(req)
        if self.max_frame is not None and len(frame) - _HEADER.size > self.max_frame:
            raise RequestTooLarge(
                f"a request of {len(frame) - _HEADER.size} bytes is over the "
                f"daemon's max_frame of {self.max_frame}")
        self._send(frame, deadline)
        while True:
            msg = self._read_message(deadline)
            which = msg.WhichOneof("msg")
            if which == "event":
                self._events.append(msg.event)
                continue
            if which != "response":
                continue                    # a kind from a newer daemon
            resp = msg.response
            if resp.request_id == 0:
                self._connection_error(resp)
            if resp.request_id != rid:
                continue                    # the late answer of a timed-out call
            got = resp.WhichOneof("body")
            if got == "error":
                raise DaemonError(resp.error.code, resp.error.message, rid)
            if got != _REPLY_OF[kind]:
                self.close()
                raise ProtocolError(f"a {kind} request answered with {got}")
            return getattr(resp, got)

    def _connection_error(self, resp):
        """A Response of request_id 0: the daemon closes the connection."""
        self.close()
        if resp.WhichOneof("body") == "error":
            raise DaemonError(resp.error.code, resp.error.message, 0)
        raise ProtocolError("a response of request_id 0 that is no Error")

    def _read_event(self, deadline):
        while True:
            msg = self._read_message(deadline)
            which = msg.WhichOneof("msg")
            if which == "event":
                return msg.event
            if which == "response" and msg.response.request_id == 0:
                self._connection_error(msg.response)
            # Other responses are late answers of calls that timed out.

    def _read_message(self, deadline):
        body = self._read_frame(deadline)
        msg = pb.ServerMessage()
        try:
            msg.ParseFromString(body)
        except Exception as e:          # google.protobuf.message.DecodeError
            self.close()
            raise ProtocolError(f"a frame from the daemon is no ServerMessage: {e}") from None
        return msg

    def _read_frame(self, deadline):
        """The body of the next frame, whole."""
        while True:
            if len(self._rbuf) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(self._rbuf)
                if n > self.max_recv_frame:
                    self.close()
                    raise ProtocolError(
                        f"a frame of {n} bytes from the daemon is over this "
                        f"client's limit of {self.max_recv_frame}")
                end = _HEADER.size + n
                if len(self._rbuf) >= end:
                    body = bytes(self._rbuf[_HEADER.size:end])
                    del self._rbuf[:end]
                    return body
            if self._eof:
                self.close()
                if self._rbuf:
                    raise ConnectionClosed("the daemon closed the connection in the middle of a frame")
                raise ConnectionClosed("the daemon closed the connection")
            self._check_open()
            self._wait(select.POLLIN, deadline)
            self._recv()

    def _recv(self):
        """Read what the socket has into the buffer; note the end."""
        try:
            data = self._sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            data = b""
        if data:
            self._rbuf += data
        else:
            self._eof = True

    def _wait(self, events, deadline):
        """Poll the socket for events; the ones that came, or Timeout."""
        poller = select.poll()
        poller.register(self._sock, events)
        while True:
            if deadline is None:
                ms = None
            else:
                ms = max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
            ready = poller.poll(ms)
            if ready:
                return ready[0][1]
            if deadline is not None and time.monotonic() >= deadline:
                raise Timeout("timed out waiting for the daemon")

    def _send(self, frame, deadline):
        """Write a whole frame, reading meanwhile (the daemon stops reading
        a connection whose output waits, so a client must read as it
        writes).  If the daemon closes the connection first, what it sent
        before (an Error of request_id 0) is what is raised."""
        view = memoryview(frame)
        sent = 0
        while sent < len(view):
            self._check_open()
            try:
                got = self._wait(select.POLLOUT | select.POLLIN, deadline)
            except Timeout:
                if sent > 0:
                    self.close()        # the stream is cut mid-frame
                raise
            if got & (select.POLLIN | select.POLLHUP | select.POLLERR) and not self._eof:
                self._recv()
            if got & select.POLLOUT or got & (select.POLLHUP | select.POLLERR):
                try:
                    sent += self._sock.send(view[sent:])
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    self._closed_while_sending()

    def _closed_while_sending(self):
        """The daemon closed the connection while we wrote: read what it
        sent before, for the reason."""
        while not self._eof:
            try:
                self._wait(select.POLLIN, time.monotonic() + 1.0)
            except Timeout:
                break
            self._recv()
        while True:
            try:
                msg = self._read_message(time.monotonic() + 1.0)
            except TpoolError:
                break
            if msg.WhichOneof("msg") == "response" and msg.response.request_id == 0:
                self._connection_error(msg.response)
            if msg.WhichOneof("msg") == "event":
                self._events.append(msg.event)
        self.close()
        raise ConnectionClosed("the daemon closed the connection while a request was sent")
