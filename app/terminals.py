"""Browser terminals: one shell per (session, node), as the candidate, shared by every tab of
the candidate and every examiner watching, kept across reconnects and recorded.

A reconnecting browser gets the scroll-back first, then the live stream, so a reload or a
lost connection finds the same shell. Each stream is written as an asciicast v2 file.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import threading
import time
from pathlib import Path

import paramiko

SCROLLBACK = 256 * 1024  # characters kept for a reconnecting browser
BACKLOG = 1024  # messages a slow browser may fall behind before it is made to reconnect
COLS, ROWS = 120, 32
Subscriber = asyncio.Queue[str | None]  # None: the shell is gone


class Recorder:
    """asciicast v2: a header line, then `[seconds, "o"|"i", text]` lines."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        self.file = path.open("a", encoding="utf-8")
        self.start = time.time()
        if fresh:
            header = {
                "version": 2,
                "width": COLS,
                "height": ROWS,
                "timestamp": int(self.start),
                "env": {"TERM": "xterm-256color"},
            }
            self.file.write(json.dumps(header) + "\n")
        else:  # a restarted service appends: keep times growing from the first header
            with path.open(encoding="utf-8") as existing:
                self.start = json.loads(existing.readline()).get("timestamp", self.start)
        self.lock = threading.Lock()

    def event(self, kind: str, text: str) -> None:
        with self.lock:
            self.file.write(json.dumps([round(time.time() - self.start, 6), kind, text]) + "\n")
            self.file.flush()

    def close(self) -> None:
        with self.lock:
            self.file.close()


class SharedStream:
    """A byte stream from a node shared by every browser that shows it (the candidate's tabs,
    examiners): a reader thread records it and hands it to each subscriber; a reconnecting
    browser gets the scroll-back first. Subclasses say how to receive and send."""

    def __init__(self, recorder: Recorder, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.recorder = loop, recorder
        self.scrollback = ""
        self.subscribers: set[Subscriber] = set()
        self.alive = True

    def start(self, name: str) -> threading.Thread:
        reader = threading.Thread(target=self._read, daemon=True, name=name)
        reader.start()
        return reader

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while data := self._recv():
            text = decoder.decode(data)
            if text:
                self.recorder.event("o", text)
                self.loop.call_soon_threadsafe(self._publish, text)
        self.alive = False
        self.loop.call_soon_threadsafe(self._publish, None)

    def _recv(self) -> bytes:
        """The next bytes, b"" once the stream is over."""
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _publish(self, text: str | None) -> None:
        if text is not None:
            self.scrollback = (self.scrollback + text)[-SCROLLBACK:]
        for queue in list(self.subscribers):
            if text is not None and queue.qsize() > BACKLOG:
                # A browser that does not read (`yes` in the shell) must not grow the service:
                # it is dropped, reconnects and gets the scroll-back.
                self.subscribers.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(text)

    def subscribe(self) -> tuple[str, Subscriber]:
        """The scroll-back so far and a queue of what follows (in the loop's thread)."""
        queue: Subscriber = asyncio.Queue()
        self.subscribers.add(queue)
        return self.scrollback, queue

    def unsubscribe(self, queue: Subscriber) -> None:
        self.subscribers.discard(queue)

    def send(self, text: str) -> None:
        if self.alive:
            self.recorder.event("i", text)
            # A lone surrogate (a broken paste) would raise and cut the candidate's terminal.
            self._write(text.encode("utf-8", "replace"))

    def resize(self, cols: int, rows: int) -> None:
        """The browser's size, where the stream has one (a pty)."""


class Terminal(SharedStream):
    """A login shell over SSH as the candidate."""

    def __init__(
        self,
        host: str,
        user: str,
        key: paramiko.PKey,
        password: str,
        recorder: Recorder,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(recorder, loop)
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        # The platform's key first (the candidate may have changed their password), then the
        # password (they may have removed the key).
        self.client.connect(
            host,
            22,
            user,
            password,
            pkey=key,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
            allow_agent=False,
            look_for_keys=False,
        )
        self.channel = self.client.invoke_shell(term="xterm-256color", width=COLS, height=ROWS)
        self.start(f"terminal-{host}")

    def _recv(self) -> bytes:
        try:
            return bytes(self.channel.recv(32768))
        except (OSError, EOFError, paramiko.SSHException):
            return b""

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.channel.send(data)

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.channel.resize_pty(width=max(10, min(cols, 500)), height=max(5, min(rows, 200)))

    def close(self) -> None:
        self.alive = False
        self.client.close()


class TerminalHub:
    """Terminals by (session, node), opened on first use, closed when the session ends."""

    def __init__(self, recordings: Path) -> None:
        self.recordings = recordings
        self.terminals: dict[tuple[str, str], Terminal] = {}
        self.recorders: dict[tuple[str, str], Recorder] = {}
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}

    def recording(self, session_id: str, node: str) -> Path:
        return self.recordings / session_id / f"{node}.cast"

    def recorded_nodes(self, session_id: str) -> list[str]:
        return sorted(p.stem for p in (self.recordings / session_id).glob("*.cast"))

    async def open(
        self, session_id: str, node: str, host: str, user: str, pkey: paramiko.PKey, password: str
    ) -> Terminal:
        """The node's shell, opened when missing or exited. Raises OSError/SSHException."""
        key = (session_id, node)
        async with self.locks.setdefault(key, asyncio.Lock()):
            terminal = self.terminals.get(key)
            if terminal is None or not terminal.alive:
                recorder = self.recorders.get(key) or Recorder(self.recording(session_id, node))
                self.recorders[key] = recorder
                loop = asyncio.get_running_loop()
                previous = terminal
                terminal = await asyncio.to_thread(
                    Terminal, host, user, pkey, password, recorder, loop
                )
                if previous is not None:  # the shell was left (`exit`): keep what it showed
                    terminal.scrollback = previous.scrollback + terminal.scrollback
                self.terminals[key] = terminal
            return terminal

    async def close_node(self, session_id: str, node: str) -> None:
        """Drop a dead node's shell: its connection may hang rather than fail, and the next
        browser connection must open a new one (the scroll-back is kept)."""
        terminal = self.terminals.get((session_id, node))
        if terminal is not None:
            await asyncio.to_thread(terminal.close)

    async def close_session(self, session_id: str) -> None:
        """Cut every browser terminal of the session (the candidate's and the watchers')."""
        for key in [k for k in self.terminals if k[0] == session_id]:
            # Closing the connection ends the reader, which tells every subscriber.
            await asyncio.to_thread(self.terminals.pop(key).close)
        for key in [k for k in self.recorders if k[0] == session_id]:
            self.recorders.pop(key).close()
            self.locks.pop(key, None)
