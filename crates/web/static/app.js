// Aftersales UI behaviour, written for this project (no third-party code). Pages work without it.
// Search as you type: asks /api/v1/search and lists matching customers and vehicles.
(function () {
  "use strict";
  var input = document.getElementById("crm-search");
  var out = document.getElementById("crm-results");
  if (!input || !out) { return; }
  var timer = null;
  var seq = 0;
  function render(hits) {
    var items = hits.map(function (h) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = (h.kind === "customer" ? "/customers/" : "/vehicles/") + encodeURIComponent(h.id);
      a.textContent = h.label;
      li.appendChild(a);
      if (h.detail) {
        var s = document.createElement("span");
        s.className = "hint";
        s.textContent = " " + h.detail;
        li.appendChild(s);
      }
      return li;
    });
    if (items.length === 0) {
      var li = document.createElement("li");
      li.textContent = out.getAttribute("data-empty") || "";
      items.push(li);
    }
    out.replaceChildren.apply(out, items);
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      var mine = ++seq;
      if (q.length < 2) { out.replaceChildren(); return; }
      fetch("/api/v1/search?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (hits) { if (mine === seq) { render(hits); } })
        .catch(function () { /* the form still works without live results */ });
    }, 120);
  });
})();

// Booking with pickup: the customer may share where they are (the browser asks first); the coordinates go with
// the address, so the pickup can be planned without anyone guessing the place.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  if (!button || !navigator.geolocation) { return; }
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("latitude").value = pos.coords.latitude.toFixed(6);
      document.getElementById("longitude").value = pos.coords.longitude.toFixed(6);
      var pickup = document.getElementById("pickup");
      if (pickup) { pickup.checked = true; }
      var said = document.getElementById("located");
      if (said) { said.textContent = button.getAttribute("data-located") || ""; }
    });
  });
})();
