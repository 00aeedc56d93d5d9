/* The assessments panel (seed 001): create, edit, override and delete feedback and expectations
 * on the selected span (the root span = the whole trace), through the MLflow REST API:
 *   POST   /api/3.0/mlflow/traces/<trace>/assessments                  create (override: "overrides" set)
 *   PATCH  /api/3.0/mlflow/traces/<trace>/assessments/<id>             edit, update_mask "<kind>,rationale"
 *   DELETE /api/3.0/mlflow/traces/<trace>/assessments/<id>
 * The source is HUMAN with the signed-in name (data-user, from web/identity.py). Input is checked
 * here first (inline messages next to the field, nothing sent); a refusal by the server is shown
 * with the server's message. After a change the panel is re-fetched from the server, so it shows
 * exactly what is stored. One form serves all three writes: Edit and Override move it under the
 * assessment they change.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var API = "/api/3.0/mlflow/traces/";
  var NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

  function panel() { return document.getElementById("assessments"); }
  function form() { return document.getElementById("a-form"); }

  function valueControl(type) {
    var el;
    if (type === "boolean") {
      el = document.createElement("select");
      el.add(new Option("True", "true"));
      el.add(new Option("False", "false"));
    } else if (type === "json" || type === "string") {
      el = document.createElement("textarea");
      el.rows = type === "json" ? 5 : 2;
      el.spellcheck = type !== "json";
      if (type === "json") el.className = "mono";
    } else {
      el = document.createElement("input");
      el.inputMode = "decimal";
      el.autocomplete = "off";
    }
    el.id = "a-value";
    el.name = "value";
    el.setAttribute("aria-describedby", "a-value-error");
    return el;
  }

  function setType(f, type, text) {
    var old = f.querySelector("#a-value");
    var keep = old && old.tagName !== "SELECT" && type !== "boolean" ? old.value : "";
    var el = valueControl(type);
    el.value = text !== undefined ? text : keep;
    if (type === "boolean" && !el.value) el.value = "true";
    f.querySelector("#a-type").value = type;
    f.querySelector(".a-value-slot").replaceChildren(el);
    clearError(f, "value");
  }

  function allowJson(f, allowed) {
    var option = f.querySelector('#a-type option[value="json"]');
    option.disabled = !allowed;
    if (!allowed && f.querySelector("#a-type").value === "json") setType(f, "string");
  }

  function fieldError(f, field, message) {
    var p = f.querySelector("#a-" + field + "-error");
    p.textContent = message;
    p.setAttribute("role", "alert");
    p.hidden = false;
    f.querySelector("#a-" + field).setAttribute("aria-invalid", "true");
  }

  function clearError(f, field) {
    var p = f.querySelector("#a-" + field + "-error");
    p.hidden = true;
    p.textContent = "";
    var input = f.querySelector("#a-" + field);
    if (input) input.removeAttribute("aria-invalid");
  }

  function formError(f, message) {
    var p = f.querySelector("#a-form-error");
    p.textContent = message;
    p.hidden = !message;
  }

  /* {value} or {error}: the typed value of the control, checked for its data type. */
  function parseValue(type, el) {
    var text = el.value;
    if (type === "boolean") return { value: text === "true" };
    if (type === "number") {
      if (!NUMBER.test(text.trim())) return { error: "Enter a number, e.g. 4 or 0.85." };
      var number = Number(text.trim());
      return isFinite(number) ? { value: number } : { error: "Enter a finite number." };
    }
    if (!text.trim()) return { error: type === "json" ? "Enter a JSON value." : "Enter a value." };
    if (type === "string") return { value: text };
    var value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { error: "Not valid JSON: " + error.message };
    }
    return value === null ? { error: "Enter a JSON value other than null." } : { value: value, json: true };
  }

  function payload(kind, parsed) {
    if (kind === "expectation" && parsed.json) {
      return { serialized_value: { serialization_format: "JSON_FORMAT", value: JSON.stringify(parsed.value) } };
    }
    return { value: parsed.value };
  }

  async function send(method, url, body) {
    var headers = { "Content-Type": "application/json" };
    var token = document.querySelector('meta[name="csrf-token"]');
    if (token) headers["X-CSRF-Token"] = token.content; // signed in: writes carry the sign-in's CSRF token
    var response = await fetch(url, {
      method: method, headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.message || "The collector refused the change (HTTP " + response.status + ").");
    return data;
  }

  /* Re-render the panel from the server: the list then shows what is stored. */
  async function refresh(message) {
    var pane = document.getElementById("span-pane");
    var response = await fetch(pane ? pane.dataset.src : location.href, { cache: "no-store" });
    var fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("assessments");
    if (!fresh) throw new Error("Saved, but the panel could not be reloaded (HTTP " + response.status + ").");
    panel().replaceWith(document.adoptNode(fresh));
    var said = panel().querySelector(".a-status");
    said.textContent = message;
    said.focus(); // the form that had focus is gone: keep keyboard users in the panel
  }

  async function submit(f) {
    var p = panel();
    var mode = f.dataset.mode;
    var type = f.querySelector("#a-type").value;
    var kind = mode === "create" ? f.querySelector("input[name=kind]:checked").value : f.dataset.kind;
    var name = mode === "create" ? f.querySelector("#a-name").value.trim() : f.dataset.name;
    clearError(f, "name");
    clearError(f, "value");
    formError(f, "");
    var parsed = parseValue(type, f.querySelector("#a-value"));
    if (!name) fieldError(f, "name", "Enter a name.");
    if (parsed.error) fieldError(f, "value", parsed.error);
    var invalid = f.querySelector("[aria-invalid=true]");
    if (invalid) return invalid.focus();

    var rationale = f.querySelector("#a-rationale").value;
    var trace = encodeURIComponent(p.dataset.trace);
    var assessment = {};
    assessment[kind] = payload(kind, parsed);
    var request;
    if (mode === "edit") {
      assessment.rationale = rationale;
      request = ["PATCH", API + trace + "/assessments/" + encodeURIComponent(f.dataset.target),
                 { assessment: assessment, update_mask: kind + ",rationale" }];
    } else {
      var span = mode === "override" ? f.dataset.span : p.dataset.span;
      assessment.assessment_name = name;
      assessment.source = { source_type: "HUMAN", source_id: p.dataset.user };
      if (rationale.trim()) assessment.rationale = rationale;
      if (span) assessment.span_id = span;
      if (mode === "override") assessment.overrides = f.dataset.target;
      request = ["POST", API + trace + "/assessments", { assessment: assessment }];
    }
    var button = f.querySelector("button[type=submit]");
    button.disabled = true; // one request per click: no double submit
    try {
      await send.apply(null, request);
    } catch (error) {
      button.disabled = false;
      return formError(f, error.message);
    }
    var label = kind === "feedback" ? "Feedback" : "Expectation";
    var done = { create: " created.", edit: " saved.", override: " overridden." }[mode];
    try {
      await refresh(label + " \u201c" + name + "\u201d" + done);
    } catch (error) {
      button.disabled = false;
      formError(f, error.message);
    }
  }

  function asText(type, value) {
    if (type === "json") return JSON.stringify(value, null, 2);
    if (type === "boolean") return value ? "true" : "false";
    return value === null || value === undefined ? "" : String(value);
  }

  function open(item, mode) {
    var f = form();
    if (!f) return;
    close(f);
    var type = item.dataset.type === "none" ? "number" : item.dataset.type;
    f.dataset.mode = mode;
    f.dataset.target = item.dataset.id;
    f.dataset.kind = item.dataset.kind;
    f.dataset.name = item.dataset.name;
    f.dataset.span = item.dataset.span;
    f.querySelector("#a-form-title").textContent = (mode === "edit" ? "Edit " : "Override ") + item.dataset.name;
    f.querySelector("button[type=submit]").textContent = mode === "edit" ? "Save" : "Override";
    f.querySelector(".a-cancel").hidden = false;
    allowJson(f, item.dataset.kind === "expectation" || type === "json");
    setType(f, type, asText(type, JSON.parse(item.dataset.value)));
    f.querySelector("#a-rationale").value = mode === "edit" ? item.dataset.rationale : "";
    item.appendChild(f);
    f.querySelector("#a-value").focus();
  }

  function close(f) {
    if (f.dataset.mode === "create") return;
    f.dataset.mode = "create";
    f.querySelector("#a-form-title").textContent = "Add an assessment";
    f.querySelector("button[type=submit]").textContent = "Create";
    f.querySelector(".a-cancel").hidden = true;
    f.querySelector("#a-rationale").value = "";
    formError(f, "");
    clearError(f, "name");
    allowJson(f, f.querySelector("input[name=kind]:checked").value === "expectation");
    setType(f, "number", "");
    panel().appendChild(f);
  }

  function cancel(f) { // back to where the user was: the button that opened the form
    var item = f.closest(".a-item");
    var opener = item && item.querySelector('[data-action="' + f.dataset.mode + '"]');
    close(f);
    if (opener) opener.focus();
  }

  async function remove(item, button) {
    var name = item.dataset.name;
    if (button.dataset.armed !== "1") { // a second click confirms: no dialog to miss
      button.dataset.armed = "1";
      button.textContent = "Confirm delete";
      button.setAttribute("aria-label", "Confirm delete " + name);
      return;
    }
    button.disabled = true;
    try {
      await send("DELETE", API + encodeURIComponent(panel().dataset.trace) + "/assessments/" +
                 encodeURIComponent(item.dataset.id));
      await refresh("\u201c" + name + "\u201d deleted.");
    } catch (error) {
      button.disabled = false;
      panel().querySelector(".a-status").textContent = error.message;
    }
  }

  document.addEventListener("submit", function (event) {
    if (event.target.id !== "a-form") return;
    event.preventDefault();
    submit(event.target);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#assessments button");
    if (!button) return;
    if (button.classList.contains("a-cancel")) return cancel(form());
    var item = button.closest(".a-item");
    var action = button.dataset.action;
    if (!item || !action) return;
    if (action === "delete") remove(item, button);
    else open(item, action);
  });

  document.addEventListener("change", function (event) {
    var f = event.target.closest("#a-form");
    if (!f) return;
    if (event.target.name === "kind") allowJson(f, event.target.value === "expectation");
    if (event.target.id === "a-type") setType(f, event.target.value);
  });

  document.addEventListener("keydown", function (event) {
    var f = event.key === "Escape" && event.target.closest && event.target.closest("#a-form");
    if (f && f.dataset.mode !== "create") cancel(f);
  });

  document.addEventListener("input", function (event) {
    var f = event.target.closest("#a-form");
    if (!f) return;
    if (event.target.id === "a-name") clearError(f, "name");
    if (event.target.id === "a-value") clearError(f, "value");
    formError(f, "");
  });
})();
