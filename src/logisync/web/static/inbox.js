// The inbox list: "select every exception on this page" ticks the rows' boxes (no inline scripts: CSP).
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "select-all") {
      document.querySelectorAll('#bulk input[name="id"]').forEach(function (box) { box.checked = e.target.checked; });
    }
  });
})();
