/// The dashboard's stylesheet and script: small, hand-written, no build step.
enum Assets {
    static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1240px; padding: 0 1em; color: #222; }
        nav { margin-bottom: 0.5em; } nav a { color: #1f77b4; }
        h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
        table { border-collapse: collapse; font-size: 0.9em; }
        th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
        table.sortable th { cursor: pointer; user-select: none; }
        th.asc::after { content: " ▲"; } th.desc::after { content: " ▼"; }
        td[data-value] { text-align: right; font-variant-numeric: tabular-nums; }
        .status.running { color: #1f77b4; } .status.diverged { color: #d62728; } .status.stopped { color: #888; }
        tr.pruned td, tr.failed td { color: #999; } tr.pruned td:nth-child(3)::after { content: " ✂"; }
        .charts { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0.5em 0; }
        .plots { display: flex; flex-wrap: wrap; gap: 0.5em; } .plots svg { max-width: 100%; height: auto; }
        table.facts th { font-weight: normal; color: #666; }
        .diagnosis { color: #444; } ol.markers { font-size: 0.9em; color: #555; }
        .problem { color: #d62728; }
        """

    static let script = """
        // Sorting: a click on a heading sorts by that column (numbers by data-value), again to reverse.
        document.querySelectorAll('table.sortable').forEach(function (table) {
          table.querySelectorAll('thead th').forEach(function (th, column) {
            th.addEventListener('click', function () {
              var ascending = !th.classList.contains('asc');
              table.querySelectorAll('thead th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
              th.classList.add(ascending ? 'asc' : 'desc');
              var body = table.tBodies[0];
              var rows = Array.prototype.slice.call(body.rows);
              rows.sort(function (a, b) {
                var x = a.cells[column], y = b.cells[column];
                var u = x.dataset.value !== undefined ? parseFloat(x.dataset.value) : NaN;
                var v = y.dataset.value !== undefined ? parseFloat(y.dataset.value) : NaN;
                var order = (!isNaN(u) && !isNaN(v)) ? u - v : x.textContent.localeCompare(y.textContent);
                return ascending ? order : -order;
              });
              rows.forEach(function (r) { body.appendChild(r); });
            });
          });
        });

        // Comparing: the ticked runs overlaid on one page.
        var compare = document.getElementById('compare-button');
        if (compare) compare.addEventListener('click', function () {
          var ids = Array.prototype.map.call(document.querySelectorAll('input.compare:checked'), function (c) { return c.value; });
          if (ids.length > 0) location.href = '/compare?runs=' + ids.map(encodeURIComponent).join(',');
        });

        function encodePath(id) { return id.split('/').map(encodeURIComponent).join('/'); }

        // Live updates: poll a few bytes every second; redraw only when the files changed.
        var charts = document.getElementById('charts');
        if (charts) setInterval(function () {
          var id = encodePath(charts.dataset.run);
          fetch('/api/runs/' + id + '/version').then(function (r) { return r.text(); }).then(function (version) {
            if (version === charts.dataset.version) return;
            return fetch('/runs/' + id + '/charts').then(function (r) { return r.text(); }).then(function (html) {
              charts.innerHTML = html;
              charts.dataset.version = version;
            });
          }).catch(function () {});
        }, 1000);

        var study = document.getElementById('study');
        if (study) setInterval(function () {
          fetch('/api/studies/' + encodePath(study.dataset.study)).then(function (r) { return r.json(); }).then(function (s) {
            if (s.version !== study.dataset.version) location.reload();
          }).catch(function () {});
        }, 2000);

        var live = document.getElementById('live');
        if (live) {
          var seen = null;
          setInterval(function () {
            fetch(live.dataset.poll).then(function (r) { return r.text(); }).then(function (text) {
              if (seen !== null && text !== seen) location.reload();
              seen = text;
            }).catch(function () {});
          }, 3000);
        }
        """
}
