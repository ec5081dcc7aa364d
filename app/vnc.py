"""What a browser may say to a VM's VNC server: the screen's proxy (app.web.console_ws) passes
the server's bytes as they are and the browser's through RfbClientFilter."""

from __future__ import annotations

import struct

# SetPixelFormat, FramebufferUpdateRequest, EnableContinuousUpdates: their fixed sizes
_PICTURE_MESSAGES = {0: 20, 3: 10, 150: 10}


class RfbRefused(Exception):
    """The browser said something the proxy does not pass on: the connection is closed."""


class RfbClientFilter:
    """What a browser may say to QEMU's VNC server (RFB 3.3 to 3.8, client to server).

    The handshake passes with the None security type only (the platform checked the browser;
    the VNC server has no password and listens on the host's loopback) and with the connection
    forced *shared*: a viewer asking for exclusive access would disconnect every other one.
    Then a candidate's messages pass as they are. A watcher's pass only when they ask for
    pictures (pixel format, encodings, updates, fences); their clipboard is dropped, and a key
    or a pointer event closes the connection: keys and mouse never reach the candidate's
    machine from an examiner's browser.
    """

    def __init__(self, watcher: bool) -> None:
        self.watcher = watcher
        self.stage = "version"
        self.pending = bytearray()

    def feed(self, data: bytes) -> bytes:
        """What to forward to the server of `data` and what came before. Raises RfbRefused."""
        self.pending += data
        out = bytearray()
        while self.pending and self._step(out):
            pass
        return bytes(out)

    def _take(self, size: int) -> bytes | None:
        if len(self.pending) < size:
            return None
        chunk = bytes(self.pending[:size])
        del self.pending[:size]
        return chunk

    def _step(self, out: bytearray) -> bool:
        """Consume one unit of the stream if it is all there; False: wait for more bytes."""
        if self.stage == "messages" and not self.watcher:
            out += self._take(len(self.pending)) or b""
            return False
        if self.stage == "messages":
            return self._watcher_message(out)
        size = 12 if self.stage == "version" else 1
        chunk = self._take(size)
        if chunk is None:
            return False
        if self.stage == "version":
            if chunk[:10] != b"RFB 003.00" or chunk[10:] not in (b"3\n", b"7\n", b"8\n"):
                raise RfbRefused(f"unknown RFB version {chunk!r}")
            self.stage = "init" if chunk[10:11] == b"3" else "security"
        elif self.stage == "security":
            if chunk != b"\x01":
                raise RfbRefused(f"security type {chunk[0]} (only None is offered)")
            self.stage = "init"
        else:  # ClientInit: its one byte is the shared flag
            chunk, self.stage = b"\x01", "messages"
        out += chunk
        return True

    def _watcher_message(self, out: bytearray) -> bool:
        sized = self._watcher_size()
        chunk = self._take(sized[0]) if sized is not None else None
        if sized is None or chunk is None:
            return False
        if sized[1]:
            out += chunk
        return True

    def _watcher_size(self) -> tuple[int, bool] | None:
        """The next message's size and whether it is passed on; None: more bytes needed."""
        head, kind = self.pending, self.pending[0]
        if kind in _PICTURE_MESSAGES:
            return _PICTURE_MESSAGES[kind], True
        header = {2: 4, 248: 9, 6: 8}.get(kind)
        if header is None:
            raise RfbRefused(f"a watcher only looks (message type {kind})")
        if len(head) < header:
            return None
        if kind == 2:  # SetEncodings: 4 bytes per encoding
            return 4 + 4 * struct.unpack(">H", head[2:4])[0], True
        if kind == 248:  # ClientFence: a payload of at most 64 bytes
            if head[8] > 64:
                raise RfbRefused("fence payload too long")
            return 9 + head[8], True
        length = abs(struct.unpack(">i", head[4:8])[0])  # ClientCutText: dropped
        if length > 1024 * 1024:
            raise RfbRefused("clipboard too long")
        return 8 + length, False
