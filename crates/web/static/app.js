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

// The loaner agreement: the customer signs with a finger (or mouse) on the driver's phone. Each stroke
// updates the hidden field with the pad as a PNG; "clear" empties both. A signature sent back after an
// error is drawn again, so nobody signs twice.
(function () {
  "use strict";
  document.querySelectorAll("canvas.signature-pad").forEach(function (pad) {
    var field = document.getElementById(pad.getAttribute("data-target"));
    var ctx = pad.getContext("2d");
    if (!field || !ctx) { return; }
    var blank = function () {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, pad.width, pad.height);
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
    };
    blank();
    if (field.value) {
      var img = new Image();
      img.onload = function () { ctx.drawImage(img, 0, 0, pad.width, pad.height); };
      img.src = "data:image/png;base64," + field.value;
    }
    var drawing = false;
    var at = function (e) {
      var r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
    };
    pad.addEventListener("pointerdown", function (e) {
      drawing = true;
      pad.setPointerCapture(e.pointerId);
      var p = at(e);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(p[0] + 0.1, p[1] + 0.1);
      ctx.stroke();
      e.preventDefault();
    });
    pad.addEventListener("pointermove", function (e) {
      if (!drawing) { return; }
      var p = at(e);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      e.preventDefault();
    });
    var end = function () {
      if (!drawing) { return; }
      drawing = false;
      field.value = pad.toDataURL("image/png").split(",")[1] || "";
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    pad.addEventListener("pointerleave", end);
    var clear = document.querySelector("[data-clear-pad='" + pad.id + "']");
    if (clear) {
      clear.addEventListener("click", function () { blank(); field.value = ""; });
    }
  });
})();

// Hand-over photos: a phone's camera takes large pictures; before the form is sent, each photo is
// redrawn at most 2000 pixels wide or high as a JPEG, so a dozen fit in one hand-over over a mobile
// connection. Where the browser cannot (no canvas, an image it cannot decode), the original goes.
(function () {
  "use strict";
  var MAX = 2000;
  var shrink = function (file) {
    return new Promise(function (done) {
      if (!/^image\//.test(file.type) || file.size < 1024 * 1024 || !window.createImageBitmap) { done(file); return; }
      createImageBitmap(file).then(function (img) {
        var scale = Math.min(1, MAX / Math.max(img.width, img.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { done(file); return; }
          done(new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }));
        }, "image/jpeg", 0.85);
      }, function () { done(file); });
    });
  };
  document.querySelectorAll("form.handover").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
      var large = inputs.some(function (input) {
        return Array.prototype.some.call(input.files, function (f) { return f.size >= 1024 * 1024; });
      });
      if (!large || !window.DataTransfer || form.getAttribute("data-shrunk")) { return; }
      e.preventDefault();
      form.setAttribute("data-shrunk", "1");
      var send = function () { HTMLFormElement.prototype.submit.call(form); };
      Promise.all(inputs.map(function (input) {
        return Promise.all(Array.prototype.map.call(input.files, function (f) { return shrink(f); })).then(function (files) {
          var dt = new DataTransfer();
          files.forEach(function (f) { dt.items.add(f); });
          input.files = dt.files;
        });
      })).then(send, send);
    });
  });
})();
