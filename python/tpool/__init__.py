"""tpool: a Python client of tpoold, the tpool daemon.

    import tpool
    with tpool.Client() as c:                 # $TPOOL_SOCKET or /run/tpool/tpoold.sock
        job = c.run("sha256", b"hello")
        print(tpool.state_name(job.state), job.result.decode())

The protocol is docs/protocol.md of the tpool sources; the messages
(tpool.pb, generated from tpool.proto by protoc) are the ones it names.
"""

from . import client
from .client import pb
from .client import *  # noqa: F401,F403 (the names of client.__all__)

__version__ = "0.1.0"

__all__ = ["pb", *client.__all__]
