// linkindex's pages: draw the charts (Plotly, from the JSON beside each chart) and, in
// the web UI, fill each table from the server one page at a time (sorted, searched and
// paged there: the browser never holds more than one page of rows).
(function () {
  "use strict";

  function drawCharts() {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
      Plotly.newPlot(el, figure.data, figure.layout,
                     {displaylogo: false, responsive: true});
    });
  }

  function serverTable(table) {
    var key = table.id;
    var state = {sort: "", desc: false, q: "", page: 1};
    var info = document.querySelector('[data-info-for="' + key + '"]');
    var prev = document.querySelector('[data-prev-for="' + key + '"]');
    var next = document.querySelector('[data-next-for="' + key + '"]');
    var search = document.querySelector('[data-search-for="' + key + '"]');
    var pages = 1;
    var pending = 0;

    function load() {
      var params = new URLSearchParams({sort: state.sort, desc: state.desc ? "1" : "",
                                        q: state.q, page: String(state.page)});
      var ticket = ++pending;
      table.dataset.loading = "1";
      fetch(table.dataset.source + "&" + params.toString())
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (ticket !== pending) return;  // a later request is on its way
          if (answer.error) { info.textContent = answer.error; info.classList.add("error"); }
          else { render(answer); }
          delete table.dataset.loading;
          table.dataset.loaded = "1";
        });
    }

    function render(answer) {
      var body = table.tBodies[0];
      body.textContent = "";
      answer.rows.forEach(function (cells, i) {
        var tr = document.createElement("tr");
        var mark = answer.marks[i];
        cells.forEach(function (text) {
          var td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        });
        if (mark) {
          tr.className = mark;
          tr.dataset.mark = mark;
          var td = document.createElement("td");
          td.className = "mark";
          td.textContent = mark;
          tr.appendChild(td);
        }
        body.appendChild(tr);
      });
      pages = answer.pages;
      state.page = answer.page;
      var first = answer.matched ? (answer.page - 1) * answer.size + 1 : 0;
      var last = Math.min(answer.page * answer.size, answer.matched);
      info.textContent = "rows " + first + "–" + last + " of " + answer.matched +
        (answer.matched !== answer.total ? " (" + answer.total + " before the filter)" : "") +
        ", page " + answer.page + " of " + answer.pages;
      prev.disabled = answer.page <= 1;
      next.disabled = answer.page >= answer.pages;
      table.querySelectorAll("th").forEach(function (th) {
        th.dataset.sorted = th.dataset.column === state.sort ? (state.desc ? "desc" : "asc") : "";
      });
    }

    table.querySelectorAll("th").forEach(function (th) {
      th.addEventListener("click", function () {
        if (state.sort === th.dataset.column) { state.desc = !state.desc; }
        else { state.sort = th.dataset.column; state.desc = false; }
        state.page = 1;
        load();
      });
    });
    prev.addEventListener("click", function () { state.page -= 1; load(); });
    next.addEventListener("click", function () { state.page += 1; load(); });
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = search.value; state.page = 1; load(); }, 250);
    });
    load();
  }

  function start() {
    // the query picker opens the chosen query's form (no inline handlers: the UI's
    // Content-Security-Policy allows scripts from the server only)
    document.querySelectorAll("select[data-submit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    drawCharts();
    document.querySelectorAll("table[data-source]").forEach(serverTable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
