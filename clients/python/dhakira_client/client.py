"""A thin, typed wrapper over the generated ``dhakira.v1.TranslationMemory`` stub.

Every method is one RPC. Requests are built from plain Python values; the
answers are the generated protobuf messages (``dhakira_pb2.Match``,
``dhakira_pb2.Unit``…), whose fields are documented in
``proto/dhakira/v1/dhakira.proto``.

Errors
------
A failed RPC raises :class:`grpc.RpcError` as grpcio raises it: ``err.code()``
is a :class:`grpc.StatusCode` and ``err.details()`` the server's message,
which starts with the path of the request field at fault, e.g.
``source_lang: unknown language "fr": expected "ar" or "en" (…)`` or
``units[1].arabic: must not be empty``. The codes the server uses:

``INVALID_ARGUMENT``
    A field holds a value the server cannot accept (empty text, unknown
    language, a limit out of range, a bad memory name, more than 10,000 units
    in one request, a file that cannot be parsed…).
``NOT_FOUND``
    ``unit_id`` names no unit (GetUnit, DeleteUnit), or ``memories[i]`` names
    no memory (Lookup; Export just returns an empty document instead).
``UNAVAILABLE``
    No server at the address, or it is shutting down, or its database is
    locked by another process.
``INTERNAL`` / ``DATA_LOSS``
    The server's storage failed / a stored record is damaged.
``DEADLINE_EXCEEDED``
    The call took longer than its ``timeout``.
``RESOURCE_EXHAUSTED``
    A message larger than the 64 MiB both sides allow.

Arguments that cannot even be put in a request (a negative ``min_score``, a
``policy`` name that does not exist) raise :class:`ValueError` or
:class:`TypeError` before anything is sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional, Sequence, Tuple, Union

import grpc

try:
    from ._generated import dhakira_pb2 as pb
    from ._generated import dhakira_pb2_grpc as pb_grpc
except ModuleNotFoundError as err:  # pragma: no cover - depends on setup
    if err.name and err.name.startswith(__package__ + "._generated"):
        raise ModuleNotFoundError(
            "dhakira_client: the generated gRPC code is missing; run "
            "`python generate.py` in clients/python (see README.md)",
            name=err.name,
        ) from err
    raise

__all__ = [
    "Client",
    "DEFAULT_ADDRESS",
    "MAX_MESSAGE_BYTES",
    "MAX_UNITS_PER_REQUEST",
    "UnitLike",
    "import_summary_from_error",
    "pb",
]

#: Where ``dhakira serve`` listens unless told otherwise.
DEFAULT_ADDRESS = "127.0.0.1:50051"

#: The server's bound on one message, each way. grpcio's default for received
#: messages is 4 MiB, too small for 100 matches with their units or a large
#: AddUnits; the client raises it to the server's bound.
MAX_MESSAGE_BYTES = 64 << 20

#: Most units in one AddUnits request or one Import batch.
MAX_UNITS_PER_REQUEST = 10_000

#: A unit to store: a ``pb.UnitInput``, a mapping of its fields
#: (``{"arabic": …, "english": …, "domain": …}``), or an ``(arabic, english)`` pair.
UnitLike = Union[pb.UnitInput, Mapping[str, object], Tuple[str, str]]

_POLICIES = {
    "add": pb.DUPLICATE_POLICY_ADD,
    "overwrite": pb.DUPLICATE_POLICY_OVERWRITE,
    "keep_newest": pb.DUPLICATE_POLICY_KEEP_NEWEST,
    "keep-newest": pb.DUPLICATE_POLICY_KEEP_NEWEST,
}

# File extensions the CLI also recognises. Over gRPC the server does not see
# the file name's extension: without a format it sniffs the content.
_FORMATS = {".tmx": "tmx", ".xml": "tmx", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".csv": "csv"}

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class Client:
    """A connection to a Dhakira server.

    ``target`` is ``host:port`` (``http://host:port`` and ``https://host:port``
    are accepted too; ``https`` uses TLS with the system's roots unless
    ``credentials`` are given). The channel connects lazily: the first call
    (or :meth:`wait_for_ready`) opens it. ``timeout`` is the default deadline
    in seconds of the unary calls (None: no deadline); each method takes its
    own ``timeout`` too. Import and Export have no default deadline.

    Use it as a context manager, or call :meth:`close`::

        with Client("127.0.0.1:50051") as tm:
            for m in tm.lookup("The cat sleeps.", "en"):
                print(m.score, m.target)
    """

    def __init__(
        self,
        target: str = DEFAULT_ADDRESS,
        *,
        timeout: Optional[float] = 30.0,
        credentials: Optional[grpc.ChannelCredentials] = None,
        options: Sequence[Tuple[str, object]] = (),
    ) -> None:
        secure = credentials is not None
        if target.startswith("https://"):
            target, secure = target[len("https://") :], True
        elif target.startswith("http://"):
            target = target[len("http://") :]
        target = target.rstrip("/")
        channel_options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            *options,
        ]
        if secure:
            self._channel = grpc.secure_channel(
                target, credentials or grpc.ssl_channel_credentials(), options=channel_options
            )
        else:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        self._stub = pb_grpc.TranslationMemoryStub(self._channel)
        self.target = target
        self.timeout = timeout

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_for_ready(self, timeout: float = 10.0) -> None:
        """Blocks until the channel is connected.

        Raises :class:`grpc.FutureTimeoutError` when the server cannot be
        reached within ``timeout`` seconds.
        """
        grpc.channel_ready_future(self._channel).result(timeout=timeout)

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    # -- unary RPCs --------------------------------------------------------

    def add_units(
        self,
        units: Iterable[UnitLike],
        *,
        memory: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> "pb.AddUnitsResponse":
        """Stores aligned pairs; returns once they are durable (AddUnits).

        ``units`` are ``pb.UnitInput`` messages, mappings of their fields, or
        ``(arabic, english)`` pairs; ``memory`` is set on every unit that
        names none (empty: the memory "default"). At most 10,000 units: the
        request is all-or-nothing, so the client does not split it.

        Returns ``unit_ids`` (in request order; the existing id for a pair
        already stored in that memory), ``added`` and ``duplicates``.

        Raises :class:`grpc.RpcError` ``INVALID_ARGUMENT`` naming the first
        bad unit (``units[3].english: must not be empty``), or ``units`` when
        there are none or too many; nothing is stored then.
        """
        request = pb.AddUnitsRequest(units=[_unit_input(u, memory) for u in units])
        return self._stub.AddUnits(request, timeout=self._deadline(timeout))

    def lookup(
        self,
        text: str,
        source_lang: str,
        min_score: Optional[int] = None,
        max_results: Optional[int] = None,
        memories: Optional[Sequence[str]] = None,
        *,
        exhaustive: bool = False,
        timeout: Optional[float] = None,
    ) -> "list[pb.Match]":
        """Finds the stored units most similar to ``text``, best first (Lookup).

        ``source_lang`` is the language of ``text`` ("ar" or "en"; "ar-EG",
        "en_US", "ara"… are accepted): the lookup searches that side of the
        stored units and each match's ``target`` is the other side.
        ``min_score`` (0–101) defaults to 70 on the server and ``max_results``
        (1–100) to 5: None leaves them unset, which is not the same as 0.
        ``memories`` restricts the search (None or empty: all memories).

        Each ``pb.Match`` has ``score`` (100: identical source; 95–99:
        identical after normalization; 101: in-context exact), ``source``,
        ``target``, ``memory``, ``unit_id``, the whole ``unit``,
        ``penalties``, ``explanation`` and, when the query's numbers or names
        differ from the source's, ``repaired_target``.

        Raises :class:`grpc.RpcError` ``INVALID_ARGUMENT`` (``text``,
        ``source_lang``, ``min_score``, ``max_results`` or ``memories[i]``)
        or ``NOT_FOUND`` (``memories[i]: no memory is named …``).
        """
        request = pb.LookupRequest(text=text, source_lang=source_lang, exhaustive=exhaustive)
        if min_score is not None:
            request.min_score = min_score
        if max_results is not None:
            request.max_results = max_results
        request.memories.extend(_names(memories))
        return list(self._stub.Lookup(request, timeout=self._deadline(timeout)).matches)

    def get_unit(self, unit_id: int, *, timeout: Optional[float] = None) -> "pb.Unit":
        """Returns one stored unit (GetUnit).

        Raises :class:`grpc.RpcError` ``NOT_FOUND`` when no unit has that id,
        ``INVALID_ARGUMENT`` for id 0.
        """
        return self._stub.GetUnit(pb.GetUnitRequest(unit_id=unit_id), timeout=self._deadline(timeout))

    def delete_unit(self, unit_id: int, *, timeout: Optional[float] = None) -> None:
        """Deletes one unit; durable on return (DeleteUnit).

        Raises :class:`grpc.RpcError` ``NOT_FOUND`` when no unit has that id
        (so deleting twice fails the second time), ``INVALID_ARGUMENT`` for id 0.
        """
        self._stub.DeleteUnit(pb.DeleteUnitRequest(unit_id=unit_id), timeout=self._deadline(timeout))

    def stats(self, *, timeout: Optional[float] = None) -> "pb.StatsResponse":
        """Counts units per memory (Stats).

        ``memories`` lists ``(name, units)`` for every memory that holds
        units, sorted by name; ``total_units`` is their sum. A memory whose
        units were all deleted is not listed.
        """
        return self._stub.Stats(pb.StatsRequest(), timeout=self._deadline(timeout))

    # -- streaming RPCs ----------------------------------------------------

    def import_file(
        self,
        path: Union[str, os.PathLike],
        memory: Optional[str] = None,
        policy: Union[str, int] = "add",
        format: Optional[str] = None,
        chunk_size: int = 256 * 1024,
        *,
        source_lang: Optional[str] = None,
        domain: Optional[str] = None,
        source_document: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> "pb.ImportSummary":
        """Imports a TMX, TSV or CSV file in chunks (the client-streaming Import).

        The stream is one ``ImportRequest(options=ImportOptions(...))``, then
        ``ImportRequest(chunk=...)`` messages of ``chunk_size`` bytes.

        ``memory``: the memory every unit goes to (None: a TMX unit's
        x-dhakira-memory property, else "default"). ``policy``: what to do
        with a unit whose source is stored with another translation: "add",
        "overwrite" or "keep_newest" (or a ``pb.DUPLICATE_POLICY_*`` value).
        ``format``: "tmx", "tsv" (arabic<TAB>english per line) or "csv";
        None takes it from the extension (.tmx/.xml, .tsv/.tab/.txt, .csv),
        else the server guesses from the content. ``source_lang``: the
        source side the duplicate policy compares, "ar" or "en" (server
        default: "en"). The file's name is sent as the import's name, and
        the server records it as ``source_document`` on every unit unless
        ``source_document`` is given.

        Returns the ``pb.ImportSummary``: ``read``, ``added``, ``updated``,
        ``duplicates``, ``kept_newer``, ``removed``, ``rejected`` and the
        first ``rejections`` and ``warnings`` (with their line). Bad units
        are rejected alone; they do not fail the call.

        Raises :class:`OSError` when the file cannot be opened (before
        anything is sent), and :class:`grpc.RpcError` ``INVALID_ARGUMENT``
        for bad options (``options.memory``, ``options.format``…) or a file
        that stops parsing (broken XML, with line and column); then what was
        stored before the fault stays, and :func:`import_summary_from_error`
        returns the summary up to it.
        """
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, not {chunk_size}")
        path = Path(path)
        if format is None:
            format = _FORMATS.get(path.suffix.lower(), "")
        options = pb.ImportOptions(
            format=format,
            memory=memory or "",
            policy=_policy(policy),
            source_lang=source_lang or "",
            domain=domain or "",
            source_document=source_document or "",
            name=path.name,
        )
        # Opened here, not in the request generator: an error there would
        # only show as a cancelled call.
        file = open(path, "rb")
        try:

            def requests() -> Iterator[pb.ImportRequest]:
                yield pb.ImportRequest(options=options)
                while True:
                    try:
                        chunk = file.read(chunk_size)
                    except ValueError:
                        # Closed: the call ended early (the server refused
                        # the options); its status is what the caller sees.
                        return
                    if not chunk:
                        return
                    yield pb.ImportRequest(chunk=chunk)

            return self._stub.Import(requests(), timeout=timeout)
        finally:
            file.close()

    def import_units(
        self,
        units: Iterable[UnitLike],
        memory: Optional[str] = None,
        policy: Union[str, int] = "add",
        *,
        batch_size: int = 1_000,
        source_lang: Optional[str] = None,
        domain: Optional[str] = None,
        source_document: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> "pb.ImportSummary":
        """Imports units in batches over one Import stream.

        Unlike :meth:`add_units`, any number of units, sent ``batch_size`` at
        a time (at most 10,000), with a duplicate ``policy`` and bad units
        rejected alone (listed in the summary with their 1-based position)
        instead of failing the whole request. Arguments and errors as
        :meth:`import_file`.
        """
        if not 1 <= batch_size <= MAX_UNITS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_UNITS_PER_REQUEST}, not {batch_size}")
        options = pb.ImportOptions(
            memory=memory or "",
            policy=_policy(policy),
            source_lang=source_lang or "",
            domain=domain or "",
            source_document=source_document or "",
        )

        def requests() -> Iterator[pb.ImportRequest]:
            yield pb.ImportRequest(options=options)
            batch: list = []
            for unit in units:
                batch.append(_unit_input(unit, None))
                if len(batch) == batch_size:
                    yield pb.ImportRequest(units=pb.UnitBatch(units=batch))
                    batch = []
            if batch:
                yield pb.ImportRequest(units=pb.UnitBatch(units=batch))

        return self._stub.Import(requests(), timeout=timeout)

    def export(
        self,
        path: Union[str, os.PathLike],
        memories: Optional[Sequence[str]] = None,
        *,
        domain: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> int:
        """Writes memories to ``path`` as a TMX 1.4b document (the Export stream).

        ``memories``: the memories to export (None or empty: all); a name
        that holds no units just contributes nothing. ``domain``: only units
        of that domain. Importing the file (:meth:`import_file`) reproduces
        the units with their memory, metadata and inline markup.

        The document is written to ``path + ".part"`` and renamed to
        ``path`` once complete, so ``path`` never holds half an export.
        Returns the number of bytes written.

        Raises :class:`grpc.RpcError` ``INVALID_ARGUMENT`` for a bad memory
        name (``memories[0]: …``), ``INTERNAL`` when the server fails
        mid-way; :class:`OSError` when ``path`` cannot be written.
        """
        request = pb.ExportRequest(memories=_names(memories), domain=domain or "")
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        written = 0
        try:
            with open(partial, "wb") as out:
                for chunk in self._stub.Export(request, timeout=timeout):
                    out.write(chunk.data)
                    written += len(chunk.data)
            os.replace(partial, path)
        except BaseException:
            try:
                os.remove(partial)
            except FileNotFoundError:
                pass
            raise
        return written


def import_summary_from_error(err: grpc.RpcError) -> "Optional[pb.ImportSummary]":
    """The ImportSummary an Import that stopped part-way carries, if any.

    When an import stops (broken XML), the server answers INVALID_ARGUMENT
    and puts the summary of what it stored before the fault in the status
    details: the ``grpc-status-details-bin`` trailer holds an encoded
    ``ImportSummary`` itself, not the usual ``google.rpc.Status`` (so
    ``grpcio-status``'s ``rpc_status.from_call`` does not apply).
    """
    trailers = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            return pb.ImportSummary.FromString(value)
    return None


def _unit_input(unit: UnitLike, memory: Optional[str]) -> "pb.UnitInput":
    if isinstance(unit, pb.UnitInput):
        message = pb.UnitInput()
        message.CopyFrom(unit)
    elif isinstance(unit, Mapping):
        message = pb.UnitInput(**unit)
    elif isinstance(unit, (tuple, list)) and len(unit) == 2:
        message = pb.UnitInput(arabic=unit[0], english=unit[1])
    else:
        raise TypeError(f"a unit is a pb.UnitInput, a mapping or an (arabic, english) pair, not {unit!r}")
    if memory and not message.memory:
        message.memory = memory
    return message


def _names(names: Optional[Sequence[str]]) -> "list[str]":
    if names is None:
        return []
    if isinstance(names, str):
        # A bare string would be sent as one name per character.
        return [names]
    return list(names)


def _policy(policy: Union[str, int]) -> int:
    if isinstance(policy, str):
        try:
            return _POLICIES[policy.lower()]
        except KeyError:
            raise ValueError(f"unknown duplicate policy {policy!r}: use add, overwrite or keep_newest") from None
    if policy in _POLICIES.values():
        return int(policy)
    raise ValueError(f"unknown duplicate policy {policy!r}")
