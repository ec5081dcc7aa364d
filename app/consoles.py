"""The consoles only VMs have, for the browser: the serial console (a login that works when the
candidate broke the machine's network or sshd) and the screen (VNC, for machines with a
display). Both are cut at the end of the exam with the rest of the candidate's access.

A serial console is shared like a terminal (app.terminals): one libvirt stream per (session,
node), the scroll-back for a reconnecting browser, every byte recorded as asciicast. A screen
is one VNC connection per browser, proxied to the address libvirt gives (127.0.0.1 only), with
the browser's side of the protocol filtered (app.vnc).
"""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import libvirt

from app.terminals import RECORDING_CAP, SCROLLBACK, Budgets, Recorder, SharedStream
from labs.driver import LabError

MAX_SCREENS = 16  # browsers on one machine's screen at once (the candidate's tabs, examiners)


@runtime_checkable
class ConsoleSource(Protocol):
    """What the lab driver gives for a VM node (labs.libvirt_driver, through the composite)."""

    def console(self, session_id: str, node: str) -> tuple[libvirt.virConnect, libvirt.virDomain]:
        """Raises LabError when the node is no VM of this platform's."""


class ConsoleUnavailable(Exception):
    """No console now: libvirt is unreachable, the machine is off or restarting, no display."""


class SerialConsole(SharedStream):
    """A VM's serial console (ttyS0) through libvirt, shared and recorded like a Terminal."""

    def __init__(
        self,
        conn: libvirt.virConnect,
        dom: libvirt.virDomain,
        recorder: Recorder,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(recorder, loop)
        # A blocking stream read in a thread: a non-blocking one needs libvirt's event loop
        # registered before the driver's connection was opened. FORCE: a console left open by
        # a crashed service (or `virsh console`) is taken over, not refused.
        self.stream = conn.newStream(0)
        dom.openConsole(None, self.stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        self.reader = self.start("serial-console")

    def _recv(self) -> bytes:
        try:
            data = self.stream.recv(32768)
        except libvirt.libvirtError:  # closed by us, or the machine stopped
            return b""
        return data if isinstance(data, bytes) else b""

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(libvirt.libvirtError):
            self.stream.send(data)

    def close(self) -> None:
        """Stop the stream; the reader tells every subscriber and writes no more."""
        self.alive = False
        with contextlib.suppress(libvirt.libvirtError):
            self.stream.abort()  # the reader's recv fails at once
        self.reader.join(timeout=5)


@dataclass(eq=False)
class ScreenLink:
    """One browser on a machine's screen, as the hub knows it: cut sets `cut`."""

    session_id: str
    node: str
    cut: asyncio.Event = field(default_factory=asyncio.Event)


class ConsoleHub:
    """Serial consoles by (session, node), opened on first use; screens by session. Both are
    cut by `close_session`, and none opens again for a session cut once."""

    def __init__(
        self, recordings: Path, source: ConsoleSource | None, budgets: Budgets | None = None
    ) -> None:
        self.recordings, self.source = recordings, source
        # The session's recording budget, shared with its terminals (app.terminals).
        self.budgets = budgets or Budgets(recordings, RECORDING_CAP)
        self.serials: dict[tuple[str, str], SerialConsole] = {}
        self.recorders: dict[tuple[str, str], Recorder] = {}
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.screens: dict[str, set[ScreenLink]] = {}
        self.cut: set[str] = set()  # sessions whose consoles were cut at the end

    def recording(self, session_id: str, node: str) -> Path:
        # Beside the terminals' recordings, in a folder of their own: node names are free.
        return self.recordings / session_id / "console" / f"{node}.cast"

    def _domain(self, session_id: str, node: str) -> tuple[libvirt.virConnect, libvirt.virDomain]:
        if self.source is None:
            raise ConsoleUnavailable("this platform has no VM backend")
        try:
            return self.source.console(session_id, node)
        except LabError as exc:
            raise ConsoleUnavailable(str(exc)) from exc

    async def serial(self, session_id: str, node: str) -> SerialConsole:
        """The node's serial console, opened when missing or gone. Raises ConsoleUnavailable."""
        key = (session_id, node)
        async with self.locks.setdefault(key, asyncio.Lock()):
            console = self.serials.get(key)
            if console is not None and console.alive:
                return console
            if session_id in self.cut:
                raise ConsoleUnavailable("the exam is over")
            recorder = self.recorders.get(key) or Recorder(
                self.recording(session_id, node), self.budgets.get(session_id)
            )
            self.recorders[key] = recorder
            loop = asyncio.get_running_loop()

            def open_console() -> SerialConsole:
                conn, dom = self._domain(session_id, node)
                try:
                    return SerialConsole(conn, dom, recorder, loop)
                except libvirt.libvirtError as exc:  # the machine is off, or starting
                    raise ConsoleUnavailable(str(exc)) from exc

            opened = await asyncio.to_thread(open_console)
            if session_id in self.cut:  # cut while it was being opened
                await asyncio.to_thread(opened.close)
                raise ConsoleUnavailable("the exam is over")
            if console is not None:  # the machine restarted: keep what its console showed
                opened.scrollback = (console.scrollback + opened.scrollback)[-SCROLLBACK:]
            self.serials[key] = opened
            return opened

    async def screen_address(self, session_id: str, node: str) -> tuple[str, int]:
        """Where the node's VNC server listens, from the running domain's description.
        Raises ConsoleUnavailable (no display, or the machine is off)."""

        def address() -> tuple[str, int]:
            _, dom = self._domain(session_id, node)
            try:
                described = ET.fromstring(dom.XMLDesc(0))
            except (libvirt.libvirtError, ET.ParseError) as exc:
                raise ConsoleUnavailable(str(exc)) from exc
            graphics = described.find("devices/graphics[@type='vnc']")
            port = int(graphics.get("port", "-1")) if graphics is not None else -1
            if graphics is None or port <= 0:
                raise ConsoleUnavailable(f"node {node}: no screen now")
            listen = graphics.get("listen", "")
            return (listen if listen not in ("", "0.0.0.0", "::") else "127.0.0.1"), port

        return await asyncio.to_thread(address)

    def join_screen(self, session_id: str, node: str) -> ScreenLink:
        """Count a browser in on a screen. Raises ConsoleUnavailable after the cut, or when
        too many browsers look at once."""
        links = self.screens.setdefault(session_id, set())
        if session_id in self.cut:
            raise ConsoleUnavailable("the exam is over")
        if sum(1 for link in links if link.node == node) >= MAX_SCREENS:
            raise ConsoleUnavailable(f"node {node}: too many screens open")
        link = ScreenLink(session_id, node)
        links.add(link)
        return link

    def leave_screen(self, link: ScreenLink) -> None:
        self.screens.get(link.session_id, set()).discard(link)

    async def close_session(self, session_id: str) -> None:
        """Cut every console of the session, the candidate's and the watchers'."""
        self.cut.add(session_id)
        for link in self.screens.pop(session_id, set()):
            link.cut.set()
        for key in [k for k in self.serials if k[0] == session_id]:
            await asyncio.to_thread(self.serials.pop(key).close)
        for key in [k for k in self.recorders if k[0] == session_id]:
            self.recorders.pop(key).close()
            self.locks.pop(key, None)
        self.budgets.drop(session_id)
