// A VM's consoles beside its terminal, behind tabs: the serial console (xterm.js, shared and
// recorded like the terminal; it answers when the machine's network or SSH is broken) and, for
// machines with a display, the screen (noVNC, loaded when first shown). The first message of
// a node's serial console says whether it has them; other nodes keep their terminal alone.
// An examiner (data-mode="watch") only sees; the end of the exam closes both for good.
(function () {
  const texts = JSON.parse(document.currentScript.dataset.texts);
  const session = document.querySelector("[data-session]").dataset.session;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const END = 4000, NOT_YOURS = 4403, NO_CONSOLE = 4404;  // app/web/console_ws.py: final
  const TOO_MANY = 4429;  // app/web/ws_guard.py: too many open, try again later
  // The ended terminal's colours (terminal.js): dimmed, still readable.
  const ENDED = {background: "#1e1e1e", foreground: "#c8c8c8", cursor: "#1e1e1e",
                 blue: "#6a9fea", red: "#f14c4c", magenta: "#d670d6"};
  const named = (text, node) => text.replace("{node}", node);
  const address = (node, what) =>
    `${scheme}://${location.host}/ws/sessions/${session}/nodes/${encodeURIComponent(node)}/${what}`;

  // The tab list (WAI-ARIA tabs: arrows, Home and End move; the shown panel is the active one).
  function tabs(node, ssh, panels) {
    const list = document.createElement("div");
    list.className = "console-tabs";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", named(texts.tabs, node));
    ssh.id = ssh.id || `terminal-${node}`;
    const buttons = panels.map(({label, panel}, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.id = `console-tab-${node}-${i}`;
      button.textContent = label;
      button.dataset.console = panel.dataset.consoleKind || "ssh";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", button.id);
      list.append(button);
      return button;
    });
    function select(index, focus) {
      panels.forEach(({panel, shown}, i) => {
        const on = i === index;
        buttons[i].setAttribute("aria-selected", String(on));
        buttons[i].tabIndex = on ? 0 : -1;
        panel.hidden = !on;
        if (on && shown) shown();
      });
      window.dispatchEvent(new Event("resize"));  // the shown xterm fits its frame again
      if (focus) buttons[index].focus();
    }
    buttons.forEach((button, i) => {
      button.addEventListener("click", () => select(i, false));
      button.addEventListener("keydown", (event) => {
        const last = buttons.length - 1;
        const to = {ArrowRight: i === last ? 0 : i + 1, ArrowLeft: i === 0 ? last : i - 1,
                    Home: 0, End: last}[event.key];
        if (to === undefined) return;
        event.preventDefault();
        select(to, true);
      });
    });
    ssh.before(list);
    select(0, false);
  }

  function serialPanel(node, watch) {
    const el = document.createElement("div");
    // `terminal` for its frame (praxis.css); no data-node: that names the SSH terminal.
    el.className = "terminal console-serial";
    el.id = `console-serial-${node}`;
    el.dataset.console = node;
    el.dataset.consoleKind = "serial";
    const term = new Terminal({cursorBlink: !watch, disableStdin: watch, fontSize: 14,
                               lineHeight: 1.2, scrollback: 5000,
                               fontFamily: "DejaVu Sans Mono, monospace"});
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    el.terminal = term;
    el.fit = fit;
    return el;
  }

  function screenPanel(node, watch) {
    const el = document.createElement("div");
    el.className = "console-screen";
    el.id = `console-screen-${node}`;
    el.dataset.console = node;
    el.dataset.consoleKind = "screen";
    el.dataset.state = "idle";
    el.setAttribute("aria-label", named(texts.display_label, node));
    const status = document.createElement("p");
    status.className = "console-status";
    status.setAttribute("role", "status");
    const box = document.createElement("div");
    box.className = "console-screen-box";
    el.append(status, box);
    let rfb = null;

    function state(name, text) {
      el.dataset.state = name;
      status.textContent = text || "";
      status.hidden = !text;
    }

    async function connect() {
      if (rfb || ["connecting", "over"].includes(el.dataset.state)) return;
      state("connecting", texts.display_wait);
      const {default: RFB} = await import("/static/vendor/novnc/core/rfb.js");
      const socket = new WebSocket(address(node, "display"));
      let final = null;  // why the server closed it for good, if it did
      let wait = 1000;
      socket.addEventListener("close", (event) => {  // before noVNC's own handler
        if ([END, NOT_YOURS, NO_CONSOLE].includes(event.code)) final = event.reason || " ";
        if (event.code === TOO_MANY) wait = 10000;
      });
      rfb = new RFB(box, socket, {shared: true});
      rfb.viewOnly = watch;
      rfb.scaleViewport = true;
      rfb.background = "#000";
      rfb.addEventListener("connect", () => {
        state("connected", "");
        if (!watch && !el.hidden) rfb.focus();
      });
      rfb.addEventListener("disconnect", () => {
        rfb = null;
        if (final !== null) {
          state("over", final.trim());
          el.classList.add("ended");
        } else {
          state("off", texts.display_off);
          setTimeout(connect, wait);
        }
      });
    }

    el.shown = () => { if (rfb) { if (!watch) rfb.focus(); } else connect(); };
    return el;
  }

  function attach(ssh) {
    const node = ssh.dataset.node, watch = ssh.dataset.mode === "watch";
    let serial = null;
    let over = false;

    function build(display) {
      serial = serialPanel(node, watch);
      serial.setAttribute("aria-label", named(texts.serial_label, node));
      const panels = [{label: texts.ssh, panel: ssh}, {
        label: texts.serial, panel: serial,
        shown: () => { serial.fit.fit(); if (!watch) serial.terminal.focus(); },
      }];
      ssh.after(serial);
      // xterm measures its font when opened: open it while shown, then hide it with the tabs.
      serial.terminal.open(serial);
      if (serial.terminal.textarea) serial.terminal.textarea.setAttribute("aria-label", named(texts.serial_label, node));
      serial.fit.fit();
      if (!watch) serial.terminal.onData((data) => send({t: "i", d: data}));
      window.addEventListener("resize", () => { if (!serial.hidden) serial.fit.fit(); });
      if (display) {
        const screen = screenPanel(node, watch);
        serial.after(screen);
        panels.push({label: texts.display, panel: screen, shown: screen.shown});
      }
      tabs(node, ssh, panels);
    }

    let socket = null;
    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function open() {
      socket = new WebSocket(address(node, "console"));
      let first = true;
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.t === "hello") {
          if (!serial) build(message.display);
        } else if (message.t === "o") {
          if (first) {  // the scroll-back replaces what we had
            serial.terminal.reset();
            if (!message.d) serial.terminal.write(`\x1b[2m${texts.hint}\x1b[0m\r\n`);
            first = false;
          }
          serial.terminal.write(message.d);
        } else if (message.t === "end") {
          over = true;
          if (!serial) return;
          serial.terminal.options.theme = ENDED;
          serial.terminal.options.cursorBlink = false;
          serial.classList.add("ended");
          serial.terminal.write(`\r\n\x1b[33m${message.d}\x1b[0m\r\n`);
          serial.dispatchEvent(new CustomEvent("terminal-end", {bubbles: true, detail: message.d}));
        }
      };
      socket.onclose = (event) => {
        if (over || [END, NOT_YOURS, NO_CONSOLE].includes(event.code)) return;
        setTimeout(open, event.code === TOO_MANY ? 10000 : 1000);
      };
    }
    open();
  }

  document.querySelectorAll(".terminal[data-node]").forEach(attach);
})();
