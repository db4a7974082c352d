"""Reading a truncated MCAP bag as far as it goes (a recorder killed mid-write, a copy cut short).

rosbags needs the summary at the end of an MCAP file, which a truncated file lacks. ``SalvageReader`` walks
the records from the start instead (uncompressed chunks, schemas, channels, messages: what rosbag2 and
rosbags write by default) and stops at the first incomplete record. It offers the part of the rosbags reader
API that ``bag fuse`` uses: ``connections`` (topic, msgtype, msgcount) and ``messages(connections=None)``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\x89MCAP0\r\n"
SCHEMA, CHANNEL, MESSAGE, CHUNK = 0x03, 0x04, 0x05, 0x06


@dataclass
class SalvagedConnection:
    id: int
    topic: str
    msgtype: str
    msgcount: int = 0


class _Truncated(Exception):
    pass


def _string(body: bytes, pos: int) -> tuple[str, int]:
    (size,) = struct.unpack_from("<I", body, pos)
    end = pos + 4 + size
    if end > len(body):
        raise _Truncated
    return body[pos + 4:end].decode(), end


class SalvageReader:
    """The readable prefix of the MCAP files of a bag folder."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.total_bytes = sum(f.stat().st_size for f in files)
        self.read_bytes = 0  # bytes of complete records
        self._schemas: dict[int, str] = {}
        self._channels: dict[int, SalvagedConnection] = {}
        self._messages: list[tuple[int, int, bytes]] = []  # (channel id, log time, data)
        for path in files:
            self._scan(path.read_bytes())
        self.connections = list(self._channels.values())
        self.message_count = len(self._messages)

    @property
    def truncated(self) -> bool:
        return self.read_bytes < self.total_bytes

    def _scan(self, data: bytes) -> None:
        if not data.startswith(MAGIC):
            return
        pos = len(MAGIC)
        while pos + 9 <= len(data):
            op, size = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
            end = pos + 9 + size
            try:
                self._record(op, data[pos + 9:end])  # a cut chunk yields its complete messages, then stops
            except (_Truncated, struct.error, UnicodeDecodeError):
                break
            if end > len(data):
                break
            pos = end
        self.read_bytes += pos

    def _record(self, op: int, body: bytes) -> None:
        if op == SCHEMA:
            (schema_id,) = struct.unpack_from("<H", body, 0)
            self._schemas[schema_id], _ = _string(body, 2)
        elif op == CHANNEL:
            channel_id, schema_id = struct.unpack_from("<HH", body, 0)
            topic, _ = _string(body, 4)
            self._channels[channel_id] = SalvagedConnection(channel_id, topic, self._schemas.get(schema_id, ""))
        elif op == MESSAGE:
            channel_id, _, log_time, _ = struct.unpack_from("<HIQQ", body, 0)
            if channel_id in self._channels:
                self._channels[channel_id].msgcount += 1
                self._messages.append((channel_id, log_time, body[22:]))
        elif op == CHUNK:
            compression, pos = _string(body, 28)
            if compression:  # a compressed chunk cannot be read in part: stop here
                raise _Truncated
            (size,) = struct.unpack_from("<Q", body, pos)
            records = body[pos + 8:pos + 8 + size]
            inner = 0
            while inner + 9 <= len(records):
                op_, size_ = records[inner], struct.unpack_from("<Q", records, inner + 1)[0]
                if inner + 9 + size_ > len(records):
                    raise _Truncated
                self._record(op_, records[inner + 9:inner + 9 + size_])
                inner += 9 + size_

    def messages(self, connections: Iterable[SalvagedConnection] | None = None,
                 ) -> Iterator[tuple[SalvagedConnection, int, bytes]]:
        """The messages read, in file order; ``connections`` keeps only theirs (as rosbags' ``Reader``)."""
        wanted = None if connections is None else {id(c) for c in connections}
        for channel_id, log_time, data in self._messages:
            conn = self._channels[channel_id]
            if wanted is None or id(conn) in wanted:
                yield conn, log_time, data
