// Staff pages: count down every `.countdown[data-left]` (seconds left when the page or the
// fragment was rendered), between two refreshes from the server.
(function () {
  function render(el) {
    if (!el.dataset.base) { el.dataset.base = el.dataset.left; el.dataset.at = performance.now(); }
    const left = Math.max(0, Math.round(el.dataset.base - (performance.now() - el.dataset.at) / 1000));
    el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  }
  setInterval(() => document.querySelectorAll(".countdown[data-left]").forEach(render), 500);
  document.querySelectorAll(".countdown[data-left]").forEach(render);
})();
