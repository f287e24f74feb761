// The responder's console: live rows from server-sent events, ticking ages and countdowns.
// No inline script (CSP). The server sends each changed incident as its rendered row; this file
// puts it in place (by level, then by report time), drops closed ones, and on an incident's own
// page asks htmx to refresh the parts that change. Times count from the server's clock: the page
// carries the server's time when rendered, and every event its time when sent.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root) { return; }
  var offset = Number(root.dataset.serverNow || Date.now()) - Date.now();
  var status = document.getElementById("live-status");
  var rows = document.getElementById("incident-rows");
  var empty = document.getElementById("incidents-empty");
  var only = root.dataset.incident || "";

  function say(text) { if (status) { status.textContent = text; } }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function elapsed(seconds) {
    var minutes = Math.max(Math.floor(seconds / 60), 0);
    var days = Math.floor(minutes / 1440), hours = Math.floor(minutes / 60) % 24, mins = minutes % 60;
    if (days) { return days + "天" + hours + "小时"; }
    if (hours) { return hours + "小时" + mins + "分"; }
    return mins + "分";
  }
  function left(seconds) {
    var whole = Math.floor(Math.abs(seconds));
    var clock = pad(Math.floor(whole / 3600)) + ":" + pad(Math.floor(whole / 60) % 60) + ":" + pad(whole % 60);
    return (seconds >= 0 ? "还剩 " : "已超时 ") + clock;
  }
  function tick() {
    var now = Date.now() + offset, i, el;
    var since = document.querySelectorAll("[data-since]");
    for (i = 0; i < since.length; i++) {
      el = since[i];
      if (el.dataset.since) { el.textContent = elapsed((now - Number(el.dataset.since)) / 1000); }
    }
    var counts = document.querySelectorAll("[data-deadline]");
    for (i = 0; i < counts.length; i++) {
      el = counts[i];
      var s = (Number(el.dataset.deadline) - now) / 1000;
      el.textContent = left(s);
      el.classList.toggle("overdue", s < 0);
    }
  }
  function place(row) {
    var level = Number(row.dataset.levelOrder), reported = Number(row.dataset.reported);
    var items = rows.children;
    for (var i = 0; i < items.length; i++) {
      var other = items[i];
      if (other === row) { continue; }
      var l = Number(other.dataset.levelOrder), r = Number(other.dataset.reported);
      if (level < l || (level === l && reported < r)) { rows.insertBefore(row, other); return; }
    }
    rows.appendChild(row);
  }
  function show(data) {
    if (typeof data.now === "number") { offset = data.now - Date.now(); }
    if (only) {
      var live = document.getElementById("incident-live");
      if (live && window.htmx) { window.htmx.trigger(live, "refresh"); }
      return;
    }
    if (!rows) { return; }
    var current = document.getElementById("incident-" + data.id);
    if (!data.open) {
      if (current) { current.remove(); }
    } else {
      var holder = document.createElement("ol");
      holder.innerHTML = data.html;
      var row = holder.firstElementChild;
      if (!row) { return; }
      row.classList.add("changed");
      if (current) { current.replaceWith(row); }
      place(row);
    }
    if (empty) { empty.hidden = rows.children.length > 0; }
    tick();
  }
  if (!window.EventSource) { say("此浏览器不支持实时更新，请手动刷新页面。"); return; }
  var url = root.dataset.live;
  if (root.dataset.after) { url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(root.dataset.after); }
  var source = new EventSource(url);
  source.addEventListener("open", function () { say("实时更新已连接。"); root.dataset.connected = "1"; });
  source.addEventListener("error", function () {
    root.dataset.connected = "0";
    say(source.readyState === EventSource.CLOSED ? "实时更新已断开，请刷新页面。" : "实时更新中断，正在重新连接……");
  });
  source.addEventListener("incident", function (event) {
    try { show(JSON.parse(event.data)); } catch (e) { /* a malformed event changes nothing */ }
  });
  source.addEventListener("reset", function () { window.location.reload(); });
  source.addEventListener("signout", function () { source.close(); window.location.assign("/signin"); });
  tick();
  window.setInterval(tick, 1000);
})();
