// slipway admin: confirm before a rollback, and keep the page current
// during a deploy by polling the JSON API every 2 seconds (a section's
// data-every sets its own period in seconds). The pages work without this
// file; it only saves the reload.
(function () {
  "use strict";

  // Forms with data-confirm ask first. Those and forms with data-busy then
  // show they are working: a rollback or a restart takes a moment and must
  // not be sent twice. (The app page's other destructive forms are
  // confirmed by a page of the server's, which works without this file.)
  document.addEventListener("submit", function (e) {
    var form = e.target, msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    var busy = msg ? "Rolling back…" : form.getAttribute("data-busy");
    var button = form.querySelector("button");
    if (busy && button) { button.disabled = true; button.textContent = busy; }
  });

  // A section where a form is being filled in is not swapped: the next
  // poll that finds the state changed tries again.
  function editing(section) {
    var a = document.activeElement;
    if (a && a !== document.body && section.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName) && a.type !== "hidden") return true;
    return Array.prototype.some.call(section.querySelectorAll("input, textarea"), function (f) {
      return f.type !== "hidden" && f.value !== f.defaultValue;
    });
  }

  // The same strings as releasesState and appsState in format.go, and
  // servicesState in services.go.
  var states = {
    releases: function (list) {
      return list.map(function (r) { return r.version + ":" + r.status + (r.pruned ? ":pruned" : ""); }).join(",");
    },
    app: function (detail) { return detail.state; }, // detailState in app.go
    apps: function (list) {
      return list.map(function (a) { return a.name + ":" + (a.live_version || 0) + ":" + a.instances + ":" + a.draining + ":" + (a.domains || []).join(" ") + ":" + (a.crashed || 0) + ":" + !!a.crash_loop + ":" + (a.state || ""); }).join(",");
    },
    services: function (list) {
      return list.map(function (s) {
        var apps = (s.links || []).map(function (l) { return l.app; }).join(" ");
        return [s.name, s.kind, s.version, s.state, s.restarts || 0, apps, s.last_backup ? s.last_backup.name : "", s.backup_schedule || ""].join(":");
      }).join(",");
    }
  };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  // Swap in the sections of the freshly rendered page: the server renders
  // them, so escaping stays in one place. A section that shows what
  // another polls for names it in data-also.
  function refresh(ids) {
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      ids.forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (!fresh || !old || editing(old)) return;
        var el = document.importNode(fresh, true);
        old.replaceWith(el);
        el.querySelectorAll("pre[data-follow]").forEach(follow);
      });
    });
  }

  function poll(section) {
    var id = section.id, url = section.getAttribute("data-poll");
    var ids = [id].concat((section.getAttribute("data-also") || "").split(" ").filter(Boolean));
    var state = states[section.getAttribute("data-kind")], busy = false, last = Date.now();
    var every = (Number(section.getAttribute("data-every")) || 2) * 1000;
    var timer = setInterval(function () {
      if (busy || document.hidden) return;
      // A confirm is open or a rollback is being sent: leave the form be.
      if (document.querySelector("#" + id + " button:disabled")) return;
      busy = true;
      getJSON(url).then(function (list) {
        var el = document.getElementById(id);
        // Refresh when something changed, and once a minute for the ages.
        if (el && (state(list) !== el.getAttribute("data-state") || Date.now() - last > 60000)) {
          last = Date.now();
          return refresh(ids);
        }
      }).catch(function (err) {
        if (String(err.message) === "401") clearInterval(timer); // signed out
      }).then(function () { busy = false; });
    }, every);
  }

  // The log of a release that is still building grows; follow it. Once
  // it is built the release page reloads; on the app page
  // (data-follow-end="stop") the history's own poll shows the outcome.
  function follow(pre) {
    var url = pre.getAttribute("data-follow"), busy = false;
    var reload = pre.getAttribute("data-follow-end") !== "stop";
    var timer = setInterval(tick, 2000);
    tick();
    function tick() {
      if (!document.body.contains(pre)) { clearInterval(timer); return; } // replaced by a refresh
      if (busy || document.hidden) return;
      busy = true;
      fetch(url + "/log", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.text();
      }).then(function (text) {
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        if (text !== pre.textContent) {
          pre.textContent = text;
          if (atEnd) pre.scrollTop = pre.scrollHeight;
        }
        return getJSON(url);
      }).then(function (rel) {
        if (rel.status !== "building") { clearInterval(timer); if (reload) location.reload(); }
      }).catch(function () { clearInterval(timer); }).then(function () { busy = false; });
    }
  }

  // A section with data-refresh (the charts) is drawn afresh every that
  // many seconds while the page is seen.
  function redraw(section) {
    var id = section.id, busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      refresh([id]).catch(function () {}).then(function () { busy = false; });
    }, Math.max(Number(section.getAttribute("data-refresh")) || 10, 2) * 1000);
  }

  // Config values shown on purpose (POST .../config/reveal) stay on that
  // answer alone: the page is not refreshed from one without them.
  if (!document.querySelector("[data-revealed]")) {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("[data-refresh]").forEach(redraw);
  }
  document.querySelectorAll("pre[data-follow]").forEach(follow);
})();
