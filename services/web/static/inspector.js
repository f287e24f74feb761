// Shian: the inspector's pages offline. Registers the service worker (which keeps the pages),
// and keeps a queue of recorded checklists in IndexedDB: a checklist is put in the queue, with
// its own Idempotency-Key, the moment it is submitted, and leaves the queue only when the server
// has answered that it is recorded (or refused it). Sending again after a lost answer or a lost
// network is therefore safe: the server answers a repeated key with the first record.
(function () {
  "use strict";
  var script = document.currentScript;
  var version = script ? (new URL(script.src).searchParams.get("v") || "0") : "0";
  var DB = "shian-inspector";
  var STORE = "queue";
  var retryDelay = 2000;
  var retryTimer = null;
  var flushing = false;
  var mine = null; // the key of the checklist submitted on this page, if any

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/inspector/sw.js?v=" + version, { scope: "/inspector" })
      .catch(function () { /* the pages still work online */ });
    if (!navigator.serviceWorker.controller) {
      // this page came before the worker: once it takes control, it keeps this page too
      navigator.serviceWorker.addEventListener("controllerchange", function () {
        var worker = navigator.serviceWorker.controller;
        if (worker) { worker.postMessage({ keep: location.pathname + location.search }); }
      });
    }
  }

  // -- the queue ---------------------------------------------------------------------------------
  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "key" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }
  function put(entry) { return run("readwrite", function (store) { store.put(entry); }); }
  function remove(key) { return run("readwrite", function (store) { store.delete(key); }); }
  function account() {
    var box = document.getElementById("queue-status");
    return box ? box.getAttribute("data-account") : "";
  }
  // only the signed-in inspector's own records: on a shared phone, another account never sends
  // (and so never signs) what someone else recorded
  function all() {
    return run("readonly", function (store) { return store.getAll(); }).then(function (items) {
      var me = account();
      return (items || []).filter(function (entry) { return entry.account === me; })
        .sort(function (a, b) { return a.recordedAt - b.recordedAt; });
    });
  }

  // -- what the inspector sees -------------------------------------------------------------------
  function say(text) {
    var box = document.getElementById("queue-status");
    if (!box) { return; }
    box.hidden = !text;
    box.textContent = text || "";
  }
  function showCount() {
    return all().then(function (items) {
      if (items.length) {
        say("本机有 " + items.length + " 条检查记录等待提交，联网后自动提交。");
      }
      return items;
    });
  }
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // -- sending -----------------------------------------------------------------------------------
  function send(entry) {
    var body = new FormData();
    entry.fields.forEach(function (pair) {
      body.append(pair[0], pair[0] === "csrf_token" ? csrf() : pair[1]);
    });
    entry.photos.forEach(function (photo) { body.append("photos", photo.blob, photo.name); });
    return fetch(entry.action, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }
    }).then(function (response) {
      var path = new URL(response.url).pathname;
      if (response.ok && path.indexOf("/inspector/inspections/") === 0) {
        return remove(entry.key).then(function () { return { state: "done", url: response.url }; });
      }
      if (path === "/signin") { return { state: "signin" }; }
      if (response.status === 422) {
        return response.text().then(function (html) {
          return remove(entry.key).then(function () { return { state: "refused", html: html }; });
        });
      }
      return { state: "later" };
    }, function () { return { state: "later" }; });
  }

  function later() {
    if (retryTimer) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; flush(null); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  // Send every queued checklist, oldest first. `current` is the key of the one just submitted on
  // this page: its answer becomes the page (the record, or the form with the reasons).
  function flush(current) {
    current = current || mine;
    if (flushing) { // another send is under way: this one goes after it
      return new Promise(function (resolve) { setTimeout(function () { resolve(flush(current)); }, 300); });
    }
    flushing = true;
    var sent = 0;
    return all().then(function (items) {
      var chain = Promise.resolve(false);
      items.forEach(function (entry) {
        chain = chain.then(function (stop) {
          if (stop) { return true; }
          return send(entry).then(function (outcome) {
            if (outcome.state === "done") {
              sent += 1;
              if (entry.key === current) { window.location.assign(outcome.url); return true; }
              return false;
            }
            if (outcome.state === "refused" && entry.key === current) {
              mine = null;
              replacePage(outcome.html);
              return true;
            }
            if (outcome.state === "refused") { say("一条离线检查记录（" + entry.businessName + "）未被接受，请重新检查填写。"); return false; }
            if (outcome.state === "signin") { say("登录已过期：请重新登录，检查记录保存在本机，登录后自动提交。"); return true; }
            later();
            if (entry.key === current) { say("网络不可用：检查记录已保存在本机，联网后自动提交。"); }
            return true;
          });
        });
      });
      return chain;
    }).then(function () {
      flushing = false;
      if (sent) { retryDelay = 2000; }
      return all().then(function (left) {
        if (!left.length && sent) { say("离线保存的 " + sent + " 条检查记录已全部提交。"); }
        else if (left.length && !current) { showCount(); }
      });
    }, function () { flushing = false; });
  }

  function replacePage(html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    document.body.replaceWith(document.adoptNode(parsed.body));
    setUpChecklist();
    if (window.htmx) { window.htmx.process(document.body); }
    window.scrollTo(0, 0);
  }

  // -- the checklist form ------------------------------------------------------------------------
  function setUpChecklist() {
    var form = document.getElementById("checklist");
    if (!form) { return; }
    var key = form.querySelector('input[name="idempotency_key"]');
    if (key) { key.value = newKey(); } // a page kept for offline use must not reuse an old key
    var rest = form.querySelector("[data-rest-pass]");
    if (rest) {
      rest.hidden = false;
      rest.addEventListener("click", function () {
        var changed = null;
        form.querySelectorAll("fieldset.item-check").forEach(function (set) {
          if (!set.querySelector("input[type=radio]:checked")) {
            var pass = set.querySelector('input[type=radio][value="pass"]');
            if (pass) { pass.checked = true; changed = pass; }
          }
        });
        if (changed) { changed.dispatchEvent(new Event("change", { bubbles: true })); }
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      event.stopPropagation();
      if (form.dataset.queued === "1") { return; }
      form.dataset.queued = "1";
      var data = new FormData(form);
      var entry = {
        key: String(data.get("idempotency_key")),
        action: form.action,
        business: form.dataset.business,
        businessName: form.dataset.businessName,
        account: account(),
        recordedAt: Date.now(),
        fields: [],
        photos: []
      };
      data.forEach(function (value, name) {
        if (value instanceof File) {
          if (value.size > 0) { entry.photos.push({ name: value.name || "photo.jpg", type: value.type, blob: value }); }
        } else {
          entry.fields.push([name, value]);
        }
      });
      mine = entry.key;
      say("正在提交检查记录…");
      put(entry).then(function () { return flush(entry.key); }, function () {
        form.dataset.queued = "";
        form.submit(); // no IndexedDB (private mode): an ordinary submission
      });
    }, true);
  }

  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "verdict") {
      target.textContent = "网络不可用，暂时无法计算检查结果；提交后由系统按同样的规则判定。";
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.classList && event.target.classList.contains("signout") && navigator.serviceWorker &&
        navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("forget");
    }
  });
  window.addEventListener("online", function () { retryDelay = 2000; flush(null); });

  function prefetchWorklist() {
    // the businesses on the worklist, kept for offline use while the network is here
    if (!navigator.onLine || !navigator.serviceWorker || !navigator.serviceWorker.controller) { return; }
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-worklist] a[data-business]"), 0, 8);
    var seen = {};
    var chain = Promise.resolve();
    links.forEach(function (link) {
      var id = link.getAttribute("data-business");
      if (seen[id]) { return; }
      seen[id] = true;
      ["/inspector/businesses/" + id, "/inspector/businesses/" + id + "/inspect"].forEach(function (url) {
        chain = chain.then(function () { return fetch(url, { credentials: "same-origin" }).catch(function () {}); });
      });
    });
  }

  setUpChecklist();
  showCount().then(function (items) { if (items.length && navigator.onLine) { flush(null); } });
  if (document.querySelector("[data-worklist]")) { setTimeout(prefetchWorklist, 1500); }
})();
