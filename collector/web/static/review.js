// The Review App, keyboard first. Plain JS on a server-rendered form: everything also works
// without it (the form posts and redirects, Previous/Next are links). This adds:
// - shortcuts (see the "?" dialog), only while the labeler is not typing in a text field
//   (Enter in a single-line field submits, Esc leaves the field). Arrow keys are left to radio
//   groups and checkboxes, which use them natively; j/k and n/p work everywhere else;
// - moving between items without a new document: Submit, Skip, Previous and Next fetch the same
//   URLs the form and links use and swap <main> (the next item is fetched ahead, right after an
//   item is shown), because building a new document costs ~40 ms in Chromium here, a fifth of
//   the 200 ms budget for reaching the next item (bench/web_review.py);
// - text-list rows (add / remove), character counters, one post per page (no double submit).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const PREFETCH_MAX_AGE_MS = 60000;
  // where the Review App's pages live, as the page's route renders it: a response elsewhere (the
  // login page after a sign-out) is a new document, not a <main> to swap in
  const APP_PATH = document.currentScript.dataset.appPath;
  let lastQuestion = null;
  let submitting = false;
  let moving = false;
  let prefetched = null;
  let made = 0;

  const questions = () => Array.from(document.querySelectorAll("fieldset.question"));
  const CHOICE_TYPES = ["pass_fail", "categorical", "categorical_list"];
  const isChoiceQuestion = (q) => CHOICE_TYPES.includes(q.dataset.inputType);
  const isChoice = (el) => el instanceof HTMLInputElement && (el.type === "radio" || el.type === "checkbox");
  const isTyping = (el) => el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement ||
    (el instanceof HTMLInputElement && !isChoice(el) && !["button", "submit", "reset"].includes(el.type)) ||
    (el instanceof HTMLElement && el.isContentEditable);
  const isControl = (el) => el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ||
    el instanceof HTMLSelectElement || el instanceof HTMLButtonElement || el instanceof HTMLAnchorElement ||
    (el instanceof HTMLElement && el.tagName === "SUMMARY");

  // -- questions ---------------------------------------------------------------------------------
  function answered(q) {
    if (isChoiceQuestion(q)) return q.querySelector("input:checked") !== null;
    return Array.from(q.querySelectorAll("input[name^='a:'], textarea[name^='a:']")).some((el) => el.value.trim());
  }

  function focusQuestion(q) {
    const target = q.querySelector("input:checked") || q.querySelector("input, textarea");
    if (target) target.focus();
    lastQuestion = q;
  }

  // The question digits act on: the focused one, else the first unanswered, else the first.
  function choiceQuestion() {
    const here = document.activeElement && document.activeElement.closest("fieldset.question");
    if (here && isChoiceQuestion(here)) return here;
    const list = questions().filter(isChoiceQuestion);
    return list.find((q) => !answered(q)) || list[0] || null;
  }

  function pick(n) {
    const q = choiceQuestion();
    if (!q) return;
    const input = q.querySelectorAll("input[type=radio], input[type=checkbox]")[n - 1];
    if (!input) return;
    input.checked = input.type === "radio" ? true : !input.checked;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    if (q.contains(document.activeElement)) input.focus();
  }

  function move(delta) {
    const list = questions();
    if (!list.length) return;
    const here = (document.activeElement && document.activeElement.closest("fieldset.question")) || lastQuestion;
    let i = list.indexOf(here);
    if (i < 0) {
      const open = list.findIndex((q) => !answered(q));
      i = delta > 0 ? (open >= 0 ? open : 0) : list.length - 1;
    } else {
      i = Math.max(0, Math.min(list.length - 1, i + delta));
    }
    focusQuestion(list[i]);
  }

  // -- moving between items ----------------------------------------------------------------------
  function swap(html, url) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const main = doc.getElementById("main");
    if (!main) { window.location.assign(url || window.location.href); return; }
    $("main").replaceWith(document.adoptNode(main));
    document.title = doc.title;
    if (url && url !== window.location.href) window.history.pushState(null, "", url);
    window.scrollTo(0, 0);
    setUp(true);
  }

  async function visit(url, init) {
    moving = true;
    try {
      const response = await fetch(url, init);
      const type = response.headers.get("content-type") || "";
      if (!type.startsWith("text/html") || !new URL(response.url).pathname.startsWith(APP_PATH)) {
        window.location.assign(response.url); // e.g. signed out: the login page
        return;
      }
      // a GET, or a post that was redirected, lands on a new URL; a post shown again keeps this one
      swap(await response.text(), !init || response.redirected ? response.url : null);
    } finally {
      moving = false;
    }
  }

  function go(link) {
    if (!link || moving) return;
    const href = link.href;
    const ahead = prefetched;
    prefetched = null;
    if (ahead && ahead.url === href && Date.now() - ahead.at < PREFETCH_MAX_AGE_MS) {
      moving = true;
      ahead.page.then((html) => {
        moving = false;
        if (html) swap(html, href); else visit(href).catch(() => window.location.assign(href));
      });
    } else {
      visit(href).catch(() => window.location.assign(href));
    }
  }

  function prefetch() {
    const next = $("next-link");
    prefetched = next ? {
      url: next.href, at: Date.now(),
      page: fetch(next.href).then((r) => (r.ok && !r.redirected ? r.text() : null)).catch(() => null),
    } : null;
  }

  function submitWith(button) {
    const form = $("review-form");
    if (form && button && !submitting && !moving) form.requestSubmit(button);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "review-form") return;
    event.preventDefault();
    if (submitting || moving) return; // one post per page: a second Enter or click does nothing
    submitting = true;
    const submitter = event.submitter;
    const body = new FormData(form, submitter);
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    const action = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    const token = document.querySelector('meta[name="csrf-token"]');
    visit(action, { method: "POST", body, headers: token ? { "X-CSRF-Token": token.content } : {} }).catch(() => {
      // the network failed: post the form the plain way (answers are upserted, nothing doubles)
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      HTMLFormElement.prototype.submit.call(form);
    });
  });

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("a[data-soft]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link);
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const dialog = $("shortcuts");
    if (dialog && dialog.open) return; // the dialog handles Esc itself
    const el = document.activeElement;
    const key = event.key;
    if (isTyping(el)) {
      if (key === "Escape") { el.blur(); event.preventDefault(); }
      else if (key === "Enter" && el instanceof HTMLInputElement && el.form && el.form.id === "review-form") {
        event.preventDefault();
        submitWith($("submit-button"));
      }
      return;
    }
    const onControl = isControl(el) && !isChoice(el);
    if (key === "?") { if (dialog) { dialog.showModal(); event.preventDefault(); } return; }
    if (key === "Enter") {
      if (onControl) return; // buttons, links, summaries: their own Enter
      if ($("review-form")) { event.preventDefault(); submitWith($("submit-button")); }
      return;
    }
    if (/^[1-9]$/.test(key)) { pick(Number(key)); event.preventDefault(); return; }
    if (key === "s") { submitWith($("skip-button")); event.preventDefault(); return; }
    if (key === "j" || key === "k") { move(key === "j" ? 1 : -1); event.preventDefault(); return; }
    if (key === "n" || key === "p") { go($(key === "n" ? "next-link" : "prev-link")); event.preventDefault(); return; }
    if (isChoice(el)) return; // arrows move within a radio group natively
    if (key === "ArrowDown" || key === "ArrowUp") { move(key === "ArrowDown" ? 1 : -1); event.preventDefault(); }
    else if (key === "ArrowRight" || key === "ArrowLeft") {
      go($(key === "ArrowRight" ? "next-link" : "prev-link"));
      event.preventDefault();
    }
  });

  document.addEventListener("focusin", (event) => {
    const q = event.target instanceof Element && event.target.closest("fieldset.question");
    if (q) lastQuestion = q;
  });

  // Back/forward: the page for the URL now shown, from the server.
  window.addEventListener("popstate", () => window.location.reload());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) { submitting = false; moving = false; }
  });

  // -- per item: first load and after every swap -------------------------------------------------
  function setUp(swapped) {
    lastQuestion = null;
    submitting = false;
    const opener = $("shortcuts-open");
    const dialog = $("shortcuts");
    if (opener && dialog) {
      opener.hidden = false;
      opener.addEventListener("click", () => dialog.showModal());
    }
    const form = $("review-form");
    if (form) {
      setUpRows(form);
      setUpCounters(form);
    }
    const invalid = document.querySelector("#main [aria-invalid=true]");
    const landmark = $("item-title") || $("done-title");
    if (invalid) invalid.focus();
    else if (swapped && landmark) landmark.focus(); // announce the new item to screen readers
    prefetch();
    performance.mark("review:ready");
  }

  function setUpCounters(form) {
    form.querySelectorAll("[data-counter-for]").forEach((counter) => {
      const field = $(counter.dataset.counterFor);
      if (!field) return;
      const show = () => { counter.textContent = `(${field.value.length} of ${field.maxLength})`; };
      field.addEventListener("input", show);
      show();
    });
  }

  function setUpRows(form) {
    form.querySelectorAll("fieldset.question[data-input-type=text_list]").forEach((q) => {
      const list = q.querySelector("ol.rows");
      const add = q.querySelector("button.add-row");
      const max = Number(list.dataset.maxCount) || Infinity;
      const renumber = () => {
        list.querySelectorAll("li.row").forEach((row, i) => {
          row.querySelector("label").textContent = `Entry ${i + 1}`;
          row.querySelector(".remove-row .sr-only").textContent = `entry ${i + 1}`;
        });
        add.disabled = list.children.length >= max;
      };
      const wire = (row) => {
        const remove = row.querySelector(".remove-row");
        remove.hidden = false;
        remove.addEventListener("click", () => {
          const input = row.querySelector("input");
          if (list.children.length > 1) {
            const next = row.nextElementSibling || row.previousElementSibling;
            row.remove();
            renumber();
            next.querySelector("input").focus();
          } else {
            input.value = "";
            input.focus();
          }
        });
      };
      list.querySelectorAll("li.row").forEach(wire);
      add.addEventListener("click", (event) => {
        event.preventDefault(); // without JS this button posts the form and the server adds the row
        if (list.children.length >= max) return;
        const row = list.lastElementChild.cloneNode(true);
        const input = row.querySelector("input");
        made += 1;
        input.id = `${q.id}-new${made}`;
        input.value = "";
        input.removeAttribute("aria-invalid");
        row.querySelector("label").htmlFor = input.id;
        list.appendChild(row);
        wire(row);
        renumber();
        input.focus();
      });
    });
  }

  setUp(false);
})();
