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
from collections import deque
from pathlib import Path

import paramiko

SCROLLBACK = 256 * 1024  # characters kept for a reconnecting browser
BACKLOG = 1024 * 1024  # characters a browser may fall behind before it is made to reconnect
BATCH = 64 * 1024  # characters sent in one message to a browser that lags
IN_FLIGHT = 64  # chunks read and not yet handed out: past it the reader waits (SSH's window)
RECORDING_CAP = 50 * 1024 * 1024  # bytes per session (settings: recording_cap_mib)
COLS, ROWS = 120, 32
# Kept for what the candidate types once output is no longer recorded: a flood early in the
# exam must not hide from the jury what was done after it.
INPUT_RESERVE = 0.1  # of the cap
CUT = (
    "\r\n[Praxis: output not recorded from here on, the session's recording limit is reached; "
    "what is typed still is]\r\n"
)


class Budget:
    """What a session's recordings (terminals and consoles) may still write, in bytes. Output
    stops `reserve` bytes early; what is typed may use those, then nothing more is written."""

    def __init__(self, room: int, reserve: int = 0) -> None:
        self.room, self.reserve = room, reserve
        self.output_closed = False  # once shut, no later, smaller output slips in
        self.lock = threading.Lock()

    def charge(self, size: int) -> None:
        """Count what was written anyway (a header, a note)."""
        with self.lock:
            self.room -= size

    def take(self, size: int, output: bool = True) -> bool:
        """Whether `size` bytes of output (or of input) may be written, counted if so."""
        with self.lock:
            if output and (self.output_closed or size > self.room - self.reserve):
                self.output_closed = True
                return False
            if size > self.room:
                self.room = 0
                return False
            self.room -= size
            return True


class Budgets:
    """One Budget per session, the cap less what its recordings already hold on disk (a
    restarted service appends to them)."""

    def __init__(self, recordings: Path, cap: int) -> None:
        self.recordings, self.cap = recordings, cap
        self.sessions: dict[str, Budget] = {}

    def get(self, session_id: str) -> Budget:
        if session_id not in self.sessions:
            used = sum(p.stat().st_size for p in (self.recordings / session_id).rglob("*.cast"))
            self.sessions[session_id] = Budget(self.cap - used, int(self.cap * INPUT_RESERVE))
        return self.sessions[session_id]

    def drop(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


class Watcher:
    """One browser's share of a stream: what is still to be sent to it, at most `limit`
    characters. A browser that falls further behind (it does not read, `yes` in the shell) is
    dropped rather than grow the service: `dropped` is set, it reconnects and gets the
    scroll-back."""

    def __init__(self, limit: int = BACKLOG) -> None:
        self.limit, self.size = limit, 0
        self.pending: deque[str] = deque()
        self.over = False  # the stream ended
        self.dropped = asyncio.Event()
        self.wake = asyncio.Event()

    def push(self, text: str | None) -> None:
        if text is None:
            self.over = True
        elif self.size + len(text) > self.limit:
            self.pending.clear()
            self.size = 0
            self.dropped.set()
        elif not self.dropped.is_set():
            self.pending.append(text)
            self.size += len(text)
        self.wake.set()

    async def next(self) -> str | None:
        """What to send next, chunks joined up to BATCH characters; None once the stream ended
        (after what it said) or the browser was dropped."""
        while not self.pending:
            if self.over or self.dropped.is_set():
                return None
            self.wake.clear()
            await self.wake.wait()
        parts = [self.pending.popleft()]
        while self.pending and len(parts[0]) + len(self.pending[0]) <= BATCH:
            parts[0] += self.pending.popleft()
        self.size -= len(parts[0])
        return parts[0]


class Recorder:
    """asciicast v2: a header line, then `[seconds, "o"|"i", text]` lines. With a Budget, the
    output stops where the session's budget runs out, and says so (a visible line and an
    asciicast marker "m" where the cut is); what is typed is kept on, from the reserve."""

    def __init__(self, path: Path, budget: Budget | None = None) -> None:
        self.budget, self.cut, self.output_cut = budget, False, False
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
            line = json.dumps(header) + "\n"
            self.file.write(line)
            if budget is not None:
                budget.charge(len(line))
        else:  # a restarted service appends: keep times growing from the first header
            with path.open(encoding="utf-8") as existing:
                self.start = json.loads(existing.readline()).get("timestamp", self.start)
        self.lock = threading.Lock()

    def event(self, kind: str, text: str) -> None:
        with self.lock:
            output = kind == "o"
            if self.cut or (output and self.output_cut):
                return
            at = round(time.time() - self.start, 6)
            line = json.dumps([at, kind, text]) + "\n"  # ASCII: its length is its size
            if self.budget is not None and not self.budget.take(len(line), output):
                if not output:
                    self.cut = True  # the reserve is spent too: nothing more, silently
                    return
                self.output_cut = True  # the note goes into the reserve: once per recording
                line = json.dumps([at, "o", CUT]) + "\n" + json.dumps([at, "m", "cut"]) + "\n"
                self.budget.charge(len(line))
            self.file.write(line)
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
        self.subscribers: set[Watcher] = set()
        self.alive = True
        self.in_flight = threading.Semaphore(IN_FLIGHT)

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
                # A flood waits here for the loop (then SSH's window stops the node) rather
                # than pile up in the loop's queue.
                self.in_flight.acquire()
                self.loop.call_soon_threadsafe(self._publish, text)
        self.alive = False
        self.in_flight.acquire()
        self.loop.call_soon_threadsafe(self._publish, None)

    def _recv(self) -> bytes:
        """The next bytes, b"" once the stream is over."""
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _publish(self, text: str | None) -> None:
        self.in_flight.release()
        if text is not None:
            self.scrollback = (self.scrollback + text)[-SCROLLBACK:]
        for watcher in list(self.subscribers):
            watcher.push(text)
            if watcher.dropped.is_set():
                self.subscribers.discard(watcher)

    def subscribe(self, backlog: int = BACKLOG) -> tuple[str, Watcher]:
        """The scroll-back so far and a Watcher of what follows (in the loop's thread)."""
        watcher = Watcher(backlog)
        self.subscribers.add(watcher)
        return self.scrollback, watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self.subscribers.discard(watcher)

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

    def __init__(self, recordings: Path, budgets: Budgets | None = None) -> None:
        self.recordings = recordings
        self.budgets = budgets or Budgets(recordings, RECORDING_CAP)
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
                recorder = self.recorders.get(key) or Recorder(
                    self.recording(session_id, node), self.budgets.get(session_id)
                )
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
        self.budgets.drop(session_id)
