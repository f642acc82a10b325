// Recording playback: clicking an agenda item or a speaker turn seeks the video there;
// the item being played is highlighted; while the program is being built, the status polls.
(function () {
  "use strict";
  var script = document.currentScript;
  var video = document.getElementById("rec-video");

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(Number(seconds) || 0));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  document.querySelectorAll("[data-seconds]").forEach(function (el) {
    el.textContent = clock(el.getAttribute("data-seconds"));
  });

  var buttons = Array.prototype.slice.call(document.querySelectorAll(".rec-index button[data-start]"));
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      if (!video) { return; }
      video.currentTime = Number(button.getAttribute("data-start")) + 0.01;
      video.play().catch(function () {});
    });
  });

  if (video) {
    video.addEventListener("timeupdate", function () {
      var t = video.currentTime;
      buttons.forEach(function (b) {
        var on = t >= Number(b.getAttribute("data-start")) && t < Number(b.getAttribute("data-end"));
        b.classList.toggle("on", on);
      });
    });
  }

  var build = document.getElementById("rec-build");
  if (build) {
    build.addEventListener("click", function () {
      var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
      build.disabled = true;
      fetch(build.getAttribute("data-url"), {method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": token, "Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (data) { show(data); poll(); })
        .catch(function () { build.disabled = false; });
    });
  }

  function show(data) {
    var label = document.getElementById("rec-status-label");
    if (label && data.status_label) {
      label.textContent = data.status_label + (data.status === "building" ? " (" + data.progress + "%)" : "");
    }
  }

  function poll() {
    fetch(script.getAttribute("data-api"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        show(data);
        if (data.status === "building") { setTimeout(poll, 3000); }
        else if (data.status === "ready" && !video) { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }

  // progress pushed by the build task (namespace /recording); polling is the fallback
  if (window.io) {
    var socket = window.io("/recording", {transports: ["websocket", "polling"]});
    socket.on("connect", function () {
      socket.emit("watch", {meeting_id: Number(script.getAttribute("data-meeting"))}, function () {});
    });
    socket.on("recording.progress", function (data) {
      show({status: data.status, progress: data.progress,
            status_label: data.status === "ready" ? "Sẵn sàng" : "Đang dựng tệp"});
      if (data.status === "ready" && !video) { window.location.reload(); }
    });
  }

  var status = document.getElementById("rec-status");
  if (status && status.getAttribute("data-status") === "building") { poll(); }
})();
