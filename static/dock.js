// The dock on a phone (issue 12). Same-origin script (the CSP allows no inline script); without
// it the pages still work as plain forms.
// - Large + / − steppers beside each count field.
// - Offline-first counting (§7): each line's count is kept on the phone (localStorage) with an
//   idempotency key the moment it is typed, and sent when there is a connection; the server
//   applies a key once, however often it is retried or from however many tabs. A line counted
//   meanwhile by someone else comes back as a conflict: shown, never overwritten.
// - The status line always says what is saved and what is waiting.
(function () {
  "use strict";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }

  // the expected arrivals: keep today's arrived batches' count pages for when the network drops
  if (document.getElementById("expected") && navigator.serviceWorker) {
    navigator.serviceWorker.ready.then(function () {
      document.querySelectorAll("#expected li.arrived a").forEach(function (a) {
        fetch(a.getAttribute("href"), { credentials: "same-origin" }).catch(function () {});
      });
    });
  }

  // the form's QR code read in the page, where the browser can (BarcodeDetector): its link
  // carries the batch number; elsewhere the phone's camera app opens the link itself
  var scan = document.getElementById("scan-qr");
  if (scan && "BarcodeDetector" in window) {
    document.getElementById("scan-qr-button").hidden = false;
    scan.addEventListener("change", function () {
      if (!scan.files.length) { return; }
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      createImageBitmap(scan.files[0]).then(function (image) { return detector.detect(image); })
        .then(function (codes) {
          var number = null;
          codes.forEach(function (code) {
            try { number = number || new URL(code.rawValue, location.href).searchParams.get("number"); }
            catch (e) { number = number || code.rawValue; }
          });
          if (!number) { throw new Error("no code"); }
          location.href = "/receiving?number=" + encodeURIComponent(number);
        }).catch(function () { document.getElementById("scan-qr-error").hidden = false; });
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.classList && input.classList.contains("photo-input") && input.files.length && input.form) {
      if (input.form.requestSubmit) { input.form.requestSubmit(); } else { input.form.submit(); }
    }
  });

  var form = document.getElementById("count-form");
  if (!form) { return; }
  var batch = form.getAttribute("data-batch");
  var PENDING = "dock:pending:" + batch, CONFLICTS = "dock:conflicts:" + batch;
  var statusLine = document.getElementById("dock-status");
  var csrf = form.querySelector("input[name=_csrf]").value;
  var timers = {};
  var ownVersions = {};  // line -> the version this tab's last applied count made

  function read(key) { try { return JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { return {}; } }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function t(name, values) {
    var text = form.getAttribute("data-t-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function card(lineId) { return form.querySelector(".count-card[data-line='" + lineId + "']"); }
  function field(c, name) { return c.querySelector("[name=c" + c.getAttribute("data-line") + "_" + name + "]"); }
  function checked(c, name) { var f = field(c, name); return !!(f && f.checked); }

  function entryOf(c) {
    var raw = c.querySelector("input[name^=received_]").value.trim();
    if (!/^\d{1,6}$/.test(raw)) { return null; }
    var cap = field(c, "cap_percent");
    var capValue = cap && /^\d{1,3}$/.test(cap.value.trim()) ? parseInt(cap.value, 10) : null;
    return { key: newKey(), line_id: parseInt(c.getAttribute("data-line"), 10),
             base_version: parseInt(c.getAttribute("data-version"), 10) || 0,
             received_qty: parseInt(raw, 10), lights: checked(c, "lights"), cap_percent: capValue,
             tube_greyed: checked(c, "tube_greyed"), bridge_blackened: checked(c, "bridge_blackened"),
             broken: checked(c, "broken") };
  }

  function signature(entry) {
    return [entry.received_qty, entry.lights, entry.cap_percent, entry.tube_greyed,
            entry.bridge_blackened, entry.broken].join("|");
  }

  function keep(c) {  // what was typed is kept on the phone at once, sent when possible
    var entry = entryOf(c);
    if (!entry) { return; }
    var pending = read(PENDING), conflicts = read(CONFLICTS), before = pending[entry.line_id];
    if (!before && !conflicts[entry.line_id] &&
        c.getAttribute("data-sent") === signature(entry)) { return; }  // nothing new to send
    if (before && signature(before) === signature(entry)) { flush(); return; }  // same, same key
    pending[entry.line_id] = entry;
    delete conflicts[entry.line_id];
    write(PENDING, pending); write(CONFLICTS, conflicts);
    show();
    flush();
  }

  function apply(c, entry) {  // put a kept count back into its card (after a reload)
    c.querySelector("input[name^=received_]").value = entry.received_qty;
    ["lights", "tube_greyed", "bridge_blackened", "broken"].forEach(function (n) {
      var f = field(c, n); if (f) { f.checked = !!entry[n]; }
    });
    var cap = field(c, "cap_percent");
    if (cap) { cap.value = entry.cap_percent === null ? "" : entry.cap_percent; }
  }

  function show() {
    var pending = read(PENDING), conflicts = read(CONFLICTS);
    var waiting = Object.keys(pending).length, disputed = Object.keys(conflicts).length;
    form.querySelectorAll(".count-card").forEach(function (c) {
      var id = c.getAttribute("data-line"), state = c.querySelector(".line-state");
      var box = c.querySelector(".line-conflict");
      c.classList.toggle("waiting", !!pending[id]);
      c.classList.toggle("conflict", !!conflicts[id]);
      if (pending[id]) { state.textContent = t("line-waiting"); }
      else if (state.textContent === t("line-waiting")) { state.textContent = t("line-saved"); }
      if (conflicts[id]) {
        var k = conflicts[id];
        box.hidden = false;
        box.textContent = "";
        var p = document.createElement("p");
        p.textContent = t("conflict", { name: k.counted_by, theirs: k.received_qty, mine: k.mine.received_qty });
        var mine = document.createElement("button"), theirs = document.createElement("button");
        mine.type = theirs.type = "button";
        mine.className = "use-mine"; theirs.className = "keep-theirs";
        mine.textContent = t("mine"); theirs.textContent = t("theirs");
        mine.setAttribute("data-line", id); theirs.setAttribute("data-line", id);
        box.appendChild(p); box.appendChild(mine); box.appendChild(theirs);
      } else { box.hidden = true; box.textContent = ""; }
    });
    var text = disputed ? t("conflicts", { n: disputed })
      : waiting ? t("waiting", { n: waiting }) + (navigator.onLine ? "" : " " + t("offline"))
      : t("saved");
    statusLine.hidden = false;
    statusLine.textContent = text;
    statusLine.className = "dock-status " + (disputed ? "conflict" : waiting ? "waiting" : "saved");
    statusLine.setAttribute("data-waiting", waiting);
    statusLine.setAttribute("data-conflicts", disputed);
  }

  function settle(entry, answer) {
    var pending = read(PENDING), conflicts = read(CONFLICTS), c = card(entry.line_id);
    if (pending[entry.line_id] && pending[entry.line_id].key === entry.key) { delete pending[entry.line_id]; }
    if (answer.state === "conflict" && ownVersions[entry.line_id] === answer.version) {
      // the count standing is this tab's own earlier one: count on top of it
      if (!pending[entry.line_id]) {
        pending[entry.line_id] = Object.assign({}, entry, { key: newKey(), base_version: answer.version });
      }
    } else if (answer.state === "applied") {
      ownVersions[entry.line_id] = answer.version;
      c.setAttribute("data-version", answer.version);
      c.setAttribute("data-saved", answer.received_qty);
      c.setAttribute("data-sent", signature(entry));
      c.querySelector(".line-state").textContent = t("line-saved") + " · " + answer.counted_by;
    } else if (answer.state === "conflict") {
      conflicts[entry.line_id] = { version: answer.version, received_qty: answer.received_qty,
                                   counted_by: answer.counted_by, mine: entry };
    } else {
      c.querySelector(".line-state").textContent = answer.message || "";
    }
    write(PENDING, pending); write(CONFLICTS, conflicts);
  }

  var inflight = null;
  function flush() {  // one sending at a time; calls meanwhile share it
    if (inflight) { return inflight; }
    var finish = function () { inflight = null; show(); };
    inflight = sendAll([]).then(finish, finish);
    return inflight;
  }

  function sendAll(sent) {  // until nothing new is kept, or the connection fails
    var entries = Object.values(read(PENDING)).filter(function (e) { return sent.indexOf(e.key) < 0; });
    if (!entries.length) { return Promise.resolve(); }
    var chain = Promise.resolve(true);
    entries.forEach(function (entry) {
      chain = chain.then(function (go) {
        if (!go) { return false; }
        sent.push(entry.key);
        return fetch(form.getAttribute("data-counts-url"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "x-csrftoken": csrf },
          body: JSON.stringify(entry)
        }).then(function (response) {
          if (response.status >= 500) { return false; }
          return response.json().then(function (answer) { settle(entry, answer); return true; });
        }, function () { return false; });  // no connection: stays kept, tried again later
      });
    });
    return chain.then(function (go) { if (go) { return sendAll(sent); } });
  }

  // a kept count comes back into its card after a reload, and is sent again
  var kept = read(PENDING);
  Object.keys(kept).forEach(function (id) { var c = card(id); if (c) { apply(c, kept[id]); } });
  var disputes = read(CONFLICTS);
  Object.keys(disputes).forEach(function (id) { var c = card(id); if (c) { apply(c, disputes[id].mine); } });

  form.addEventListener("input", function (event) {
    var c = event.target.closest(".count-card");
    if (!c) { return; }
    c.setAttribute("data-touched", "");
    var id = c.getAttribute("data-line");
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () { keep(c); }, 400);
  });
  form.addEventListener("change", function (event) {
    var c = event.target.closest(".count-card");
    if (c) { c.setAttribute("data-touched", ""); clearTimeout(timers[c.getAttribute("data-line")]); keep(c); }
  });

  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (button && button.classList.contains("step")) {
      var input = button.parentNode.querySelector("input");
      var value = parseInt(input.value, 10);
      value = (isNaN(value) ? 0 : value) + parseInt(button.getAttribute("data-step"), 10);
      input.value = String(Math.max(0, value));
      input.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    if (!button || !button.hasAttribute("data-line")) { return; }
    var id = button.getAttribute("data-line"), conflicts = read(CONFLICTS), k = conflicts[id];
    var c = card(id);
    if (!k) { return; }
    delete conflicts[id];
    write(CONFLICTS, conflicts);
    c.setAttribute("data-version", k.version);
    if (button.classList.contains("use-mine")) {  // counted again on the version now standing
      var pending = read(PENDING);
      pending[id] = Object.assign({}, k.mine, { key: newKey(), base_version: k.version });
      write(PENDING, pending);
      flush();
    } else {
      c.setAttribute("data-saved", k.received_qty);
      c.querySelector("input[name^=received_]").value = k.received_qty;
    }
    show();
  });

  // finishing: every count sent and none disputed, then the batch is counted (the plain form)
  form.addEventListener("submit", function (event) {
    if (form.hasAttribute("data-finishing")) { return; }
    event.preventDefault();
    Object.keys(timers).forEach(function (id) { clearTimeout(timers[id]); });
    form.querySelectorAll(".count-card").forEach(function (c) { if (c.hasAttribute("data-touched")) { keep(c); } });
    flush().then(function () {
      if (Object.keys(read(PENDING)).length || Object.keys(read(CONFLICTS)).length) {
        statusLine.textContent = statusLine.textContent + " " + t("unsaved");
        return;
      }
      form.setAttribute("data-finishing", "");
      form.submit();
    });
  });

  window.addEventListener("online", function () { flush(); });
  window.addEventListener("offline", show);
  window.addEventListener("storage", function (event) {  // another tab kept or sent a count
    if (event.key === PENDING || event.key === CONFLICTS) { show(); }
  });
  show();
  flush();
})();
