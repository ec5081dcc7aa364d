// The candidate's page: the split between the subject and the terminals, dragged with the
// pointer or moved with the arrow keys; remembered in this browser. The terminals refit on the
// window's resize event (terminal.js), so each move sends one.
(function () {
  const panes = document.getElementById("panes");
  const splitter = document.getElementById("splitter");
  if (!panes || !splitter) return;
  const MIN = 20, MAX = 80, STEP = 5;
  let dragging = false;

  function set(percent) {
    const value = Math.round(Math.min(MAX, Math.max(MIN, percent)));
    panes.style.setProperty("--split", `${value}%`);
    splitter.setAttribute("aria-valuenow", String(value));
    try { localStorage.setItem("praxis-split", String(value)); } catch (error) { /* private mode */ }
    window.dispatchEvent(new Event("resize"));
  }
  function current() { return Number(splitter.getAttribute("aria-valuenow")); }

  splitter.addEventListener("pointerdown", (event) => {
    dragging = true;
    splitter.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  splitter.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const box = panes.getBoundingClientRect();
    set(100 * (event.clientX - box.left) / box.width);
  });
  const stop = () => { dragging = false; };
  splitter.addEventListener("pointerup", stop);
  splitter.addEventListener("pointercancel", stop);
  splitter.addEventListener("keydown", (event) => {
    const moves = {ArrowLeft: -STEP, ArrowRight: STEP, Home: MIN - current(), End: MAX - current()};
    if (!(event.key in moves)) return;
    event.preventDefault();
    set(current() + moves[event.key]);
  });
  const saved = Number(localStorage.getItem("praxis-split"));
  if (saved) set(saved);
})();
