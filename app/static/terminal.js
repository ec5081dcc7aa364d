// Attach an xterm.js terminal to every .terminal element: a WebSocket to the node's shell.
// The candidate types; an examiner (data-mode="watch") only sees. A lost connection comes
// back by itself and gets the scroll-back first, so a reload finds the same shell; so does a
// browser the service dropped because it fell too far behind the shell's output.
(function () {
  const session = document.querySelector("[data-session]").dataset.session;
  // Once over, the shell is dimmed yet readable (text 10:1, colours ≥ 4.5:1, WCAG AA); the
  // dashed frame (praxis.css) says it is over.
  const ENDED = {background: "#1e1e1e", foreground: "#c8c8c8", cursor: "#1e1e1e",
                 blue: "#6a9fea", red: "#f14c4c", magenta: "#d670d6"};

  function attach(el) {
    const watch = el.dataset.mode === "watch";
    // lineHeight: xterm cuts each row at the font's measured height, and DejaVu Sans Mono's
    // underscore lies in the last, cut-off pixel row at 14px: `x86_64` read `x86 64`.
    const term = new Terminal({cursorBlink: !watch, disableStdin: watch, fontSize: 14,
                               lineHeight: 1.2, scrollback: 5000,
                               fontFamily: "DejaVu Sans Mono, monospace"});
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(el);
    // xterm names its input "Terminal input", in English: name the node, in the page's language.
    if (el.dataset.label && term.textarea) term.textarea.setAttribute("aria-label", el.dataset.label);
    fit.fit();
    let socket = null;
    let over = false;
    let refused = false;  // "too many terminals" said once, until a connection gets through

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function open() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/sessions/${session}/nodes/${el.dataset.node}/terminal`);
      let first = true;
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.t === "o") {
          if (first) { term.reset(); first = refused = false; }  // the scroll-back replaces what we had
          term.write(message.d);
        } else if (message.t === "end") {
          over = true;
          term.options.theme = ENDED;
          term.options.cursorBlink = false;
          el.classList.add("ended");
          term.write(`\r\n\x1b[33m${message.d}\x1b[0m\r\n`);
          el.dispatchEvent(new CustomEvent("terminal-end", {bubbles: true, detail: message.d}));
        }
      };
      socket.onopen = () => { if (!watch) send({t: "r", cols: term.cols, rows: term.rows}); };
      // app/web/ws_guard.py: 4403 not ours (or another site's page), for good; 4429 too many
      // terminals open, try again later; 4001 fell behind, at once (the scroll-back catches up).
      socket.onclose = (event) => {
        if (over || event.code === 4403) return;
        if (event.code === 4429) {
          if (!refused) term.write(`\r\n\x1b[33m${event.reason}\x1b[0m\r\n`);
          refused = true;
          setTimeout(open, 10000);
        } else setTimeout(open, event.code === 4001 ? 0 : 1000);
      };
    }

    if (!watch) {
      term.onData((data) => send({t: "i", d: data}));
      term.onResize(({cols, rows}) => send({t: "r", cols, rows}));
    }
    window.addEventListener("resize", () => fit.fit());
    el.terminal = term;
    open();
  }

  document.querySelectorAll(".terminal").forEach(attach);
  // The candidate can type at once, without first clicking into the terminal.
  const mine = document.querySelector('.terminal[data-mode="candidate"]');
  if (mine) mine.terminal.focus();
})();
