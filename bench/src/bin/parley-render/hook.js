// Installed by parley-render before the app's own scripts run. It notes, in
// `window.__bench`, when the app's socket receives each probe message and
// when the probe's line is in the DOM, and how long the room's history took
// to be drawn after `joined`. __LINES__ is replaced by the room's size.
(() => {
  try {
    // gloo-storage keeps values as JSON.
    localStorage.setItem("parley.nick", JSON.stringify("reader"));
  } catch (_) {
    // about:blank has no storage; the app's page does.
  }
  const bench = {
    recv: {},
    dom: {},
    frame: {},
    waiters: {},
    joinedAt: null,
    initial: null,
  };
  window.__bench = bench;

  // The first `message` listener on every socket the app opens, so it runs
  // before the app's own handler.
  const Native = window.WebSocket;
  class Timed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const now = performance.now();
        if (typeof event.data !== "string") return;
        const probe = /"(probe-\d+)"/.exec(event.data);
        if (probe) {
          bench.recv[probe[1]] = now;
        } else if (bench.joinedAt === null && event.data.includes('"type":"joined"')) {
          bench.joinedAt = now;
        }
      });
    }
  }
  window.WebSocket = Timed;

  // The history: from `joined` to all its lines in the DOM.
  const history = new MutationObserver(() => {
    if (bench.joinedAt === null || bench.initial !== null) return;
    const now = performance.now();
    if (document.querySelectorAll("[data-testid=message]").length >= __LINES__) {
      bench.initial = now - bench.joinedAt;
      history.disconnect();
    }
  });
  document.addEventListener("DOMContentLoaded", () =>
    history.observe(document.body, { childList: true, subtree: true }),
  );

  // Probes: the new line is the list's last element.
  window.__benchWatch = () => {
    const list = document.querySelector("[data-testid=message-list]");
    new MutationObserver(() => {
      const now = performance.now();
      const body = list.lastElementChild?.querySelector(".msg-body");
      const text = body?.textContent ?? "";
      if (!text.startsWith("probe-") || text in bench.dom) return;
      bench.dom[text] = now;
      requestAnimationFrame(() =>
        setTimeout(() => {
          bench.frame[text] = performance.now();
          bench.waiters[text]?.();
        }, 0),
      );
    }).observe(list, { childList: true, subtree: true, characterData: true });
  };

  // Resolves with [received, in the DOM, next frame done] for one probe.
  window.__benchWait = (text) =>
    new Promise((resolve) => {
      const done = () =>
        resolve([bench.recv[text] ?? null, bench.dom[text] ?? null, bench.frame[text] ?? null]);
      if (text in bench.frame) done();
      else bench.waiters[text] = done;
    });
})();
