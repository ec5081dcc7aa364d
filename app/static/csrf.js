// Every POST/PUT/DELETE a page sends with its sign-in cookie carries the page's CSRF token
// (app/csrf.py): fetch to this site gets the header here, htmx through its request hook.
(function () {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const plain = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const request = input instanceof Request ? input : null;
    const method = (init.method || (request ? request.method : "GET")).toUpperCase();
    const url = new URL(request ? request.url : input, location.href);
    if (["GET", "HEAD", "OPTIONS"].includes(method) || url.origin !== location.origin) {
      return plain(input, init);
    }
    const headers = new Headers(init.headers || (request ? request.headers : undefined));
    headers.set("X-CSRF-Token", token);
    return plain(input, {...init, headers});
  };
  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = token;
  });
})();
