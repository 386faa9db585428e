"""`billing web`: the HTTP API and the web console (CONTRACT.md §10), served by uvicorn."""

from __future__ import annotations

import argparse
import socket
import sys

from commands.bootstrap import open_engine
from commands.cli_support import EXIT_OK, AddParser, Handler, UsageError
from commands.settings import Settings


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    web = add_parser("web", help="serve the JSON API (/api/v1/) and the web console (/) over the store")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    web.add_argument(
        "--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default: %(default)s)"
    )
    web.add_argument("--access-log", action="store_true", help="log every request on stderr (default: errors only)")
    web.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every view answer afresh (default: answers are kept while the log stands still)",
    )
    return {"web": _web}


def _web(args: argparse.Namespace, settings: Settings) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be 0..65535")
    open_engine(settings, create=False).close()  # a store that does not exist is exit 2, as for reads
    listener = _listen(args.host, args.port)  # a taken port is one line and exit 2, before anything starts
    import uvicorn

    from web.app import create_app

    # Opened for writing: a store made before a feature gains the feature's tables.
    with open_engine(settings, create=True) as engine:
        host, port = listener.getsockname()[:2]
        print(f"billing web: serving http://{_url_host(host)}:{port}/ (API at /api/v1/)", file=sys.stderr, flush=True)
        config = uvicorn.Config(
            create_app(engine, cache_views=not args.no_cache),
            log_level="warning",
            access_log=args.access_log,
            lifespan="on",
            http="httptools",
            loop="uvloop",
            server_header=False,
        )
        uvicorn.Server(config).run(sockets=[listener])
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"--host {host!r}: {error.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
