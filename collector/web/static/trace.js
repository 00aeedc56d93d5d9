/* The trace page: select a span without reloading.
 *
 * Without JS every span in the tree is a plain "?span=<id>" link that reloads the page. With JS
 * a click fetches /traces/<id>/spans/<span_id> (the span alone, rendered by the same templates,
 * a few KB even when the trace has 1,000 spans) and swaps its #span-pane in, so the detail and
 * the assessments panel change without re-rendering the tree. The URL follows (pushState), so
 * back/forward and reload show the same span. ArrowUp/ArrowDown in the tree move the selection.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var tree = document.getElementById("span-tree");
  if (!tree) return;
  var traceId = tree.dataset.trace;
  var latest = 0;

  function markCurrent(spanId) {
    var old = tree.querySelector('a[aria-current="true"]');
    if (old) old.removeAttribute("aria-current");
    var link = tree.querySelector('a[data-span="' + CSS.escape(spanId) + '"]');
    if (link) link.setAttribute("aria-current", "true");
    return link;
  }

  function fullLoad(spanId) {
    location.href = "?span=" + encodeURIComponent(spanId);
  }

  async function select(spanId, push) {
    var mine = ++latest;
    markCurrent(spanId);
    var pane = document.getElementById("span-pane");
    pane.setAttribute("aria-busy", "true");
    try {
      var url = "/traces/" + encodeURIComponent(traceId) + "/spans/" + encodeURIComponent(spanId);
      var response = await fetch(url, { cache: "no-store" });
      if (!response.ok) return fullLoad(spanId); // the full page explains what is wrong
      var html = await response.text();
      if (mine !== latest) return; // a later click won
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("span-pane");
      if (!fresh) return fullLoad(spanId);
      document.getElementById("span-pane").replaceWith(document.adoptNode(fresh));
      if (push) history.pushState({ span: spanId }, "", "?span=" + encodeURIComponent(spanId));
      document.dispatchEvent(new CustomEvent("annotrace:span", { detail: { span: spanId } }));
    } catch (error) {
      if (mine === latest) fullLoad(spanId);
    } finally {
      var now = document.getElementById("span-pane");
      if (now) now.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) return;
    var link = event.target.closest("a[data-span]");
    if (!link) return;
    event.preventDefault();
    select(link.dataset.span, true);
  });

  tree.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var link = event.target.closest("a[data-span]");
    if (!link) return;
    var row = event.key === "ArrowDown" ? link.parentElement.nextElementSibling
                                        : link.parentElement.previousElementSibling;
    if (!row) return;
    event.preventDefault();
    var next = row.querySelector("a[data-span]");
    next.focus();
    next.scrollIntoView({ block: "nearest" });
    select(next.dataset.span, true);
  });

  window.addEventListener("popstate", function () {
    var span = new URLSearchParams(location.search).get("span");
    if (span) select(span, false);
    else location.reload();
  });
})();
