"""The analyst's view of a target: a self-contained HTML report and a local web UI.

- ``report.profile``: what the view shows, defined once for both (header, overview,
  charts, tables) and gathered from the queries;
- ``report.monitoring``: the "Since last run" section, read from the latest alert
  document `linkindex monitor` wrote for the target (DATA/monitor/runs/);
- ``report.charts``: query results as Plotly figures (plain JSON: Plotly's JavaScript,
  shipped inside the ``plotly`` wheel, draws them; no Python plotting at all);
- ``report.results``: query results cached per generation, sorted, searched and paged
  on the server, for the web UI's tables;
- ``report.html``: the report file, every script and style inside;
- ``report.web``: ``linkindex serve``, a read-only FastAPI app over the live index.
"""
