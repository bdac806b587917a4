"""PostgreSQL protocol v3 messages as frozen dataclasses with pure encode/decode.

No I/O happens here. Every message knows how to ``encode()`` itself to wire bytes. The decoders
take a buffer and return ``(message, bytes_consumed)``, or ``None`` when the buffer does not yet
hold a whole message, so the caller simply reads more bytes and tries again.

Frontend (client → server) and backend (server → client) messages are both implemented, so
every message can be round-trip tested without sockets, and tests can speak to the server.
The message catalogue follows "Message Formats" in the PostgreSQL documentation (protocol 3.0).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.errors import ProtocolViolation, UnsupportedProtocol

PROTOCOL_3_0 = 196608  # 3 << 16
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102

# The largest message the server accepts by default; larger ones are a protocol violation.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
# A startup packet is small; PostgreSQL itself caps it at 10000 bytes.
MAX_STARTUP_PACKET_SIZE = 10000

_INT16 = struct.Struct("!h")
_UINT16 = struct.Struct("!H")
_INT32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")

Buffer = bytes | bytearray | memoryview


# --- small reader over one message body --------------------------------------------------------
class _Reader:
    """Reads fields from one complete message body; any overrun is a protocol violation."""

    __slots__ = ("data", "pos")

    def __init__(self, data: Buffer) -> None:
        self.data = data if isinstance(data, bytes) else bytes(data)
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ProtocolViolation("message is shorter than its fields say")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def _fixed(self, size: int) -> int:
        """Advance over a fixed-size field and return where it starts."""
        pos = self.pos
        if pos + size > len(self.data):
            raise ProtocolViolation("message is shorter than its fields say")
        self.pos = pos + size
        return pos

    def int16(self) -> int:
        value: int = _INT16.unpack_from(self.data, self._fixed(2))[0]
        return value

    def uint16(self) -> int:
        value: int = _UINT16.unpack_from(self.data, self._fixed(2))[0]
        return value

    def int32(self) -> int:
        value: int = _INT32.unpack_from(self.data, self._fixed(4))[0]
        return value

    def byte(self) -> bytes:
        return self._take(1)

    def bytes_(self, size: int) -> bytes:
        return self._take(size)

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolViolation("unterminated string in message")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolViolation("invalid UTF-8 in message") from exc

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def finish(self) -> None:
        if not self.at_end():
            raise ProtocolViolation("message has trailing bytes")


def _ascii(code: bytes) -> str:
    """A one-byte code (status letter, field type); anything but ASCII is a protocol violation."""
    if not code.isascii():
        raise ProtocolViolation(f"invalid code byte {code!r}")
    return code.decode("ascii")


def _cstr(value: str) -> bytes:
    return value.encode("utf-8") + b"\x00"


def _frame(type_code: bytes, body: bytes) -> bytes:
    return type_code + _INT32.pack(len(body) + 4) + body


# =================================================================================================
# Startup-phase packets (no type byte)
# =================================================================================================
@dataclass(frozen=True, slots=True)
class StartupMessage:
    parameters: dict[str, str]
    protocol: int = PROTOCOL_3_0

    def encode(self) -> bytes:
        body = _INT32.pack(self.protocol)
        body += b"".join(_cstr(k) + _cstr(v) for k, v in self.parameters.items()) + b"\x00"
        return _INT32.pack(len(body) + 4) + body


@dataclass(frozen=True, slots=True)
class SSLRequest:
    def encode(self) -> bytes:
        return _INT32.pack(8) + _INT32.pack(SSL_REQUEST_CODE)


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    def encode(self) -> bytes:
        return _INT32.pack(8) + _INT32.pack(GSSENC_REQUEST_CODE)


@dataclass(frozen=True, slots=True)
class CancelRequest:
    process_id: int
    secret_key: int

    def encode(self) -> bytes:
        return (
            _INT32.pack(16)
            + _INT32.pack(CANCEL_REQUEST_CODE)
            + struct.pack("!ii", self.process_id, self.secret_key)
        )


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest


def decode_startup(buffer: Buffer) -> tuple[StartupPacket, int] | None:
    """Decode the first packet of a connection, or None if more bytes are needed."""
    if len(buffer) < 4:
        return None
    (length,) = _INT32.unpack_from(buffer, 0)
    if length < 8 or length > MAX_STARTUP_PACKET_SIZE:
        raise ProtocolViolation(f"invalid startup packet length {length}")
    if len(buffer) < length:
        return None
    reader = _Reader(memoryview(buffer)[4:length])
    code = reader.int32()
    packet: StartupPacket
    if code == SSL_REQUEST_CODE:
        packet = SSLRequest()
    elif code == GSSENC_REQUEST_CODE:
        packet = GSSENCRequest()
    elif code == CANCEL_REQUEST_CODE:
        packet = CancelRequest(reader.int32(), reader.int32())
    else:
        if code >> 16 != 3:
            raise UnsupportedProtocol(
                f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0"
            )
        parameters: dict[str, str] = {}
        while True:
            key = reader.cstring()
            if not key:
                break
            parameters[key] = reader.cstring()
        packet = StartupMessage(parameters, protocol=code)
    reader.finish()
    return packet, length


# =================================================================================================
# Frontend messages (client → server), each with a type byte
# =================================================================================================
@dataclass(frozen=True, slots=True)
class Query:
    sql: str

    def encode(self) -> bytes:
        return _frame(b"Q", _cstr(self.sql))


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_oids: tuple[int, ...] = ()

    def encode(self) -> bytes:
        body = _cstr(self.name) + _cstr(self.sql) + _INT16.pack(len(self.param_oids))
        body += b"".join(struct.pack("!I", oid) for oid in self.param_oids)
        return _frame(b"P", body)


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...] = ()
    params: tuple[bytes | None, ...] = ()
    result_formats: tuple[int, ...] = ()

    def encode(self) -> bytes:
        parts = [_cstr(self.portal), _cstr(self.statement), _INT16.pack(len(self.param_formats))]
        parts += [_INT16.pack(f) for f in self.param_formats]
        parts.append(_INT16.pack(len(self.params)))
        for value in self.params:
            parts.append(_INT32.pack(-1) if value is None else _INT32.pack(len(value)) + value)
        parts.append(_INT16.pack(len(self.result_formats)))
        parts += [_INT16.pack(f) for f in self.result_formats]
        return _frame(b"B", b"".join(parts))


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # 'S' statement or 'P' portal
    name: str

    def encode(self) -> bytes:
        return _frame(b"D", self.kind.encode() + _cstr(self.name))


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int = 0  # 0 means no limit

    def encode(self) -> bytes:
        return _frame(b"E", _cstr(self.portal) + _INT32.pack(self.max_rows))


@dataclass(frozen=True, slots=True)
class Close:
    kind: str  # 'S' statement or 'P' portal
    name: str

    def encode(self) -> bytes:
        return _frame(b"C", self.kind.encode() + _cstr(self.name))


@dataclass(frozen=True, slots=True)
class Sync:
    def encode(self) -> bytes:
        return _frame(b"S", b"")


@dataclass(frozen=True, slots=True)
class Flush:
    def encode(self) -> bytes:
        return _frame(b"H", b"")


@dataclass(frozen=True, slots=True)
class Terminate:
    def encode(self) -> bytes:
        return _frame(b"X", b"")


@dataclass(frozen=True, slots=True)
class PasswordData:
    """A 'p' message. Its meaning depends on the authentication step: a password, a SASL
    initial response or a SASL response. Use the ``as_*`` readers to interpret it."""

    data: bytes

    def encode(self) -> bytes:
        return _frame(b"p", self.data)

    def as_password(self) -> str:
        reader = _Reader(self.data)
        password = reader.cstring()
        reader.finish()
        return password

    def as_sasl_initial(self) -> tuple[str, bytes]:
        reader = _Reader(self.data)
        mechanism = reader.cstring()
        length = reader.int32()
        if length < -1:
            raise ProtocolViolation("invalid SASL response length")
        payload = b"" if length == -1 else reader.bytes_(length)
        reader.finish()
        return mechanism, payload

    @classmethod
    def password(cls, password: str) -> PasswordData:
        return cls(_cstr(password))

    @classmethod
    def sasl_initial(cls, mechanism: str, payload: bytes) -> PasswordData:
        return cls(_cstr(mechanism) + _INT32.pack(len(payload)) + payload)


@dataclass(frozen=True, slots=True)
class CopyFail:
    reason: str

    def encode(self) -> bytes:
        return _frame(b"f", _cstr(self.reason))


@dataclass(frozen=True, slots=True)
class UnsupportedFrontend:
    """A well-formed message of a type the server does not implement (CopyData, FunctionCall)."""

    type_code: bytes
    body: bytes

    def encode(self) -> bytes:
        return _frame(self.type_code, self.body)


FrontendMessage = (
    Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Close
    | Sync
    | Flush
    | Terminate
    | PasswordData
    | CopyFail
    | UnsupportedFrontend
)


def _decode_parse(r: _Reader) -> Parse:
    name, sql, count = r.cstring(), r.cstring(), r.int16()
    if count < 0:
        raise ProtocolViolation("negative parameter count in Parse")
    oids = tuple(struct.unpack("!I", r.bytes_(4))[0] for _ in range(count))
    return Parse(name, sql, oids)


def _decode_bind(r: _Reader) -> Bind:
    portal, statement = r.cstring(), r.cstring()
    format_count = r.int16()
    if format_count < 0:
        raise ProtocolViolation("negative format count in Bind")
    param_formats = tuple(r.int16() for _ in range(format_count))
    param_count = r.int16()
    if param_count < 0:
        raise ProtocolViolation("negative parameter count in Bind")
    params: list[bytes | None] = []
    for _ in range(param_count):
        length = r.int32()
        if length < -1:
            raise ProtocolViolation("invalid parameter length in Bind")
        params.append(None if length == -1 else r.bytes_(length))
    result_count = r.int16()
    if result_count < 0:
        raise ProtocolViolation("negative result format count in Bind")
    result_formats = tuple(r.int16() for _ in range(result_count))
    return Bind(portal, statement, param_formats, tuple(params), result_formats)


def _decode_kind_name(r: _Reader, message: str) -> tuple[str, str]:
    kind = r.byte().decode("ascii", "replace")
    if kind not in ("S", "P"):
        raise ProtocolViolation(f"invalid {message} message subtype {kind!r}")
    return kind, r.cstring()


_FRONTEND_DECODERS: dict[bytes, Callable[[_Reader], FrontendMessage]] = {
    b"Q": lambda r: Query(r.cstring()),
    b"P": _decode_parse,
    b"B": _decode_bind,
    b"D": lambda r: Describe(*_decode_kind_name(r, "Describe")),
    b"E": lambda r: Execute(r.cstring(), r.int32()),
    b"C": lambda r: Close(*_decode_kind_name(r, "Close")),
    b"S": lambda r: Sync(),
    b"H": lambda r: Flush(),
    b"X": lambda r: Terminate(),
    b"p": lambda r: PasswordData(r.rest()),
    b"f": lambda r: CopyFail(r.cstring()),
    # Well-formed messages of sub-protocols Laminar does not implement (COPY, FunctionCall).
    b"d": lambda r: UnsupportedFrontend(b"d", r.rest()),
    b"c": lambda r: UnsupportedFrontend(b"c", r.rest()),
    b"F": lambda r: UnsupportedFrontend(b"F", r.rest()),
}


def _decode_frontend_body(type_code: bytes, r: _Reader) -> FrontendMessage:
    decoder = _FRONTEND_DECODERS.get(type_code)
    if decoder is None:
        raise ProtocolViolation(f"invalid frontend message type {type_code!r}")
    message = decoder(r)
    r.finish()
    return message


_SYNC = Sync()
_FLUSH = Flush()


def decode_frontend(
    buffer: Buffer, max_size: int = DEFAULT_MAX_MESSAGE_SIZE, start: int = 0
) -> tuple[FrontendMessage, int] | None:
    """Decode one typed frontend message at ``start``, or None if the buffer holds only part
    of one. Returns the message and the offset just past it."""
    if len(buffer) - start < 5:
        return None
    type_code, length = _HEADER.unpack_from(buffer, start)
    if length < 4:
        raise ProtocolViolation(f"invalid message length {length}")
    if length > max_size:
        raise ProtocolViolation(f"message of {length} bytes exceeds the limit of {max_size} bytes")
    end = start + 1 + length
    if len(buffer) < end:
        return None
    if length == 4 and type_code in (b"S", b"H"):  # the commonest messages have no body
        return (_SYNC if type_code == b"S" else _FLUSH), end
    return _decode_frontend_body(type_code, _Reader(bytes(memoryview(buffer)[start + 5 : end]))), end


# =================================================================================================
# Backend messages (server → client)
# =================================================================================================
@dataclass(frozen=True, slots=True)
class AuthenticationOk:
    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(0))


@dataclass(frozen=True, slots=True)
class AuthenticationCleartextPassword:
    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(3))


@dataclass(frozen=True, slots=True)
class AuthenticationMD5Password:
    salt: bytes

    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(5) + self.salt)


@dataclass(frozen=True, slots=True)
class AuthenticationSASL:
    mechanisms: tuple[str, ...]

    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(10) + b"".join(_cstr(m) for m in self.mechanisms) + b"\x00")


@dataclass(frozen=True, slots=True)
class AuthenticationSASLContinue:
    data: bytes

    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(11) + self.data)


@dataclass(frozen=True, slots=True)
class AuthenticationSASLFinal:
    data: bytes

    def encode(self) -> bytes:
        return _frame(b"R", _INT32.pack(12) + self.data)


@dataclass(frozen=True, slots=True)
class ParameterStatus:
    name: str
    value: str

    def encode(self) -> bytes:
        return _frame(b"S", _cstr(self.name) + _cstr(self.value))


@dataclass(frozen=True, slots=True)
class BackendKeyData:
    process_id: int
    secret_key: int

    def encode(self) -> bytes:
        return _frame(b"K", struct.pack("!ii", self.process_id, self.secret_key))


@dataclass(frozen=True, slots=True)
class ReadyForQuery:
    status: str  # 'I' idle, 'T' in transaction, 'E' failed transaction

    def encode(self) -> bytes:
        return _frame(b"Z", self.status.encode("ascii"))


@dataclass(frozen=True, slots=True)
class FieldDescription:
    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1
    format: int = 0
    table_oid: int = 0
    column_number: int = 0

    def encode(self) -> bytes:
        return _cstr(self.name) + struct.pack(
            "!IhIhih",
            self.table_oid,
            self.column_number,
            self.type_oid,
            self.type_size,
            self.type_modifier,
            self.format,
        )


@dataclass(frozen=True, slots=True)
class RowDescription:
    fields: tuple[FieldDescription, ...]

    def encode(self) -> bytes:
        return _frame(b"T", _INT16.pack(len(self.fields)) + b"".join(f.encode() for f in self.fields))


@dataclass(frozen=True, slots=True)
class DataRow:
    values: tuple[bytes | None, ...]

    def encode(self) -> bytes:
        return encode_data_row(self.values)


def encode_data_row(values: Sequence[bytes | None]) -> bytes:
    """DataRow bytes straight from encoded column values (the hot path: no dataclass)."""
    parts = [_INT16.pack(len(values))]
    append = parts.append
    for value in values:
        if value is None:
            append(b"\xff\xff\xff\xff")
        else:
            append(_INT32.pack(len(value)))
            append(value)
    body = b"".join(parts)
    return b"D" + _INT32.pack(len(body) + 4) + body


@dataclass(frozen=True, slots=True)
class CommandComplete:
    tag: str

    def encode(self) -> bytes:
        return _frame(b"C", _cstr(self.tag))


@dataclass(frozen=True, slots=True)
class EmptyQueryResponse:
    def encode(self) -> bytes:
        return _frame(b"I", b"")


def _encode_fields(fields: dict[str, str]) -> bytes:
    return b"".join(code.encode("ascii") + _cstr(value) for code, value in fields.items()) + b"\x00"


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    fields: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return _frame(b"E", _encode_fields(self.fields))

    @property
    def sqlstate(self) -> str:
        return self.fields.get("C", "")


@dataclass(frozen=True, slots=True)
class NoticeResponse:
    fields: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return _frame(b"N", _encode_fields(self.fields))


@dataclass(frozen=True, slots=True)
class ParseComplete:
    def encode(self) -> bytes:
        return _frame(b"1", b"")


@dataclass(frozen=True, slots=True)
class BindComplete:
    def encode(self) -> bytes:
        return _frame(b"2", b"")


@dataclass(frozen=True, slots=True)
class CloseComplete:
    def encode(self) -> bytes:
        return _frame(b"3", b"")


@dataclass(frozen=True, slots=True)
class NoData:
    def encode(self) -> bytes:
        return _frame(b"n", b"")


@dataclass(frozen=True, slots=True)
class PortalSuspended:
    def encode(self) -> bytes:
        return _frame(b"s", b"")


@dataclass(frozen=True, slots=True)
class ParameterDescription:
    type_oids: tuple[int, ...]

    def encode(self) -> bytes:
        return _frame(
            b"t", _INT16.pack(len(self.type_oids)) + b"".join(struct.pack("!I", o) for o in self.type_oids)
        )


@dataclass(frozen=True, slots=True)
class NegotiateProtocolVersion:
    newest_minor: int
    unrecognized_options: tuple[str, ...]

    def encode(self) -> bytes:
        body = _INT32.pack(self.newest_minor) + _INT32.pack(len(self.unrecognized_options))
        return _frame(b"v", body + b"".join(_cstr(o) for o in self.unrecognized_options))


BackendMessage = (
    AuthenticationOk
    | AuthenticationCleartextPassword
    | AuthenticationMD5Password
    | AuthenticationSASL
    | AuthenticationSASLContinue
    | AuthenticationSASLFinal
    | ParameterStatus
    | BackendKeyData
    | ReadyForQuery
    | RowDescription
    | DataRow
    | CommandComplete
    | EmptyQueryResponse
    | ErrorResponse
    | NoticeResponse
    | ParseComplete
    | BindComplete
    | CloseComplete
    | NoData
    | PortalSuspended
    | ParameterDescription
    | NegotiateProtocolVersion
)

_EMPTY_BACKEND: dict[bytes, BackendMessage] = {
    b"I": EmptyQueryResponse(),
    b"1": ParseComplete(),
    b"2": BindComplete(),
    b"3": CloseComplete(),
    b"n": NoData(),
    b"s": PortalSuspended(),
}


def _decode_fields(r: _Reader) -> dict[str, str]:
    fields: dict[str, str] = {}
    while True:
        code = r.byte()
        if code == b"\x00":
            return fields
        fields[_ascii(code)] = r.cstring()


def _decode_auth(r: _Reader) -> BackendMessage:
    kind = r.int32()
    if kind == 0:
        return AuthenticationOk()
    if kind == 3:
        return AuthenticationCleartextPassword()
    if kind == 5:
        return AuthenticationMD5Password(r.bytes_(4))
    if kind == 10:
        mechanisms = []
        while (mechanism := r.cstring()) != "":
            mechanisms.append(mechanism)
        return AuthenticationSASL(tuple(mechanisms))
    if kind == 11:
        return AuthenticationSASLContinue(r.rest())
    if kind == 12:
        return AuthenticationSASLFinal(r.rest())
    raise ProtocolViolation(f"unsupported authentication request {kind}")


def _decode_row_description(r: _Reader) -> RowDescription:
    fields = []
    for _ in range(r.int16()):
        name = r.cstring()
        table_oid, column, type_oid, size, modifier, fmt = struct.unpack("!IhIhih", r.bytes_(18))
        fields.append(FieldDescription(name, type_oid, size, modifier, fmt, table_oid, column))
    return RowDescription(tuple(fields))


def _decode_data_row(r: _Reader) -> DataRow:
    values: list[bytes | None] = []
    for _ in range(r.int16()):
        length = r.int32()
        values.append(None if length == -1 else r.bytes_(length))
    return DataRow(tuple(values))


def _decode_backend_body(type_code: bytes, r: _Reader) -> BackendMessage:
    message: BackendMessage
    if type_code in _EMPTY_BACKEND:
        message = _EMPTY_BACKEND[type_code]
    elif type_code == b"R":
        message = _decode_auth(r)
    elif type_code == b"S":
        message = ParameterStatus(r.cstring(), r.cstring())
    elif type_code == b"K":
        message = BackendKeyData(r.int32(), r.int32())
    elif type_code == b"Z":
        message = ReadyForQuery(_ascii(r.byte()))
    elif type_code == b"T":
        message = _decode_row_description(r)
    elif type_code == b"D":
        message = _decode_data_row(r)
    elif type_code == b"C":
        message = CommandComplete(r.cstring())
    elif type_code == b"E":
        message = ErrorResponse(_decode_fields(r))
    elif type_code == b"N":
        message = NoticeResponse(_decode_fields(r))
    elif type_code == b"t":
        message = ParameterDescription(tuple(struct.unpack("!I", r.bytes_(4))[0] for _ in range(r.int16())))
    elif type_code == b"v":
        minor, count = r.int32(), r.int32()
        message = NegotiateProtocolVersion(minor, tuple(r.cstring() for _ in range(count)))
    else:
        raise ProtocolViolation(f"invalid backend message type {type_code!r}")
    r.finish()
    return message


def decode_backend(buffer: Buffer) -> tuple[BackendMessage, int] | None:
    """Decode one backend message (used by tests and tools that speak to the server)."""
    if len(buffer) < 5:
        return None
    type_code, length = _HEADER.unpack_from(buffer, 0)
    if length < 4:
        raise ProtocolViolation(f"invalid message length {length}")
    end = 1 + length
    if len(buffer) < end:
        return None
    return _decode_backend_body(type_code, _Reader(memoryview(buffer)[5:end])), end
