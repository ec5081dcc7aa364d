"""What the browser types reaches the node's shell as UTF-8, whatever the text."""

from __future__ import annotations

from pathlib import Path

from app.terminals import Recorder, Terminal


class Channel:
    def __init__(self) -> None:
        self.sent = b""

    def send(self, data: bytes) -> None:
        self.sent += data


def _terminal(tmp_path: Path) -> tuple[Terminal, Channel]:
    terminal = Terminal.__new__(Terminal)  # no SSH connection: only the sending half
    channel = Channel()
    terminal.channel = channel  # type: ignore[assignment]
    terminal.recorder = Recorder(tmp_path / "web.cast")
    terminal.alive = True
    return terminal, channel


def test_accents_are_sent_as_utf8(tmp_path: Path) -> None:
    terminal, channel = _terminal(tmp_path)
    terminal.send("echo 'Émile Zola — ça'\r")
    terminal.recorder.close()
    assert channel.sent == "echo 'Émile Zola — ça'\r".encode()


def test_a_broken_paste_does_not_cut_the_terminal(tmp_path: Path) -> None:
    terminal, channel = _terminal(tmp_path)
    terminal.send("a\ud83dé")  # half an emoji, as JSON can carry it
    terminal.recorder.close()
    assert channel.sent == "a?é".encode()
    assert "\\ud83d" in (tmp_path / "web.cast").read_text()
