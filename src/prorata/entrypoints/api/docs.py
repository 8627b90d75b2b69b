"""The API's documentation page: one HTML page that lists the operations of ``openapi.json``.

No asset comes from a CDN (an installation may have no internet): the page is plain HTML with its style and a few
lines of script served beside it as files (the Content-Security-Policy allows no inline script or style), which read
the document the API serves there too.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Prorata API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs.css">
<script src="docs.js" defer></script>
</head>
<body>
<h1>Prorata API</h1>
<p>Every request sends <code>Authorization: Bearer prk_&lt;prefix&gt;_&lt;secret&gt;</code> (make one with
<code>prorata apikey create</code>). Errors are <code>application/problem+json</code> (RFC 9457) with
<code>code</code>, <code>rule</code> and <code>field</code>. Money is integer minor units beside a currency.
The machine-readable document: <a href="openapi.json">openapi.json</a>.</p>
<div id="ops">Loading openapi.json&hellip;</div>
</body>
</html>
"""

STYLE = """\
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0; } code, pre { font: 13px ui-monospace, monospace; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .4rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; } .m { display: inline-block; width: 4.5rem; font-weight: bold; }
.get { color: #0a6; } .post { color: #06c; } .put { color: #a60; } .delete { color: #c22; }
pre { background: #f6f6f6; padding: .5rem; overflow: auto; max-height: 30rem; }
"""

SCRIPT = """\
fetch("openapi.json").then(r => r.json()).then(doc => {
  const ops = document.getElementById("ops");
  ops.textContent = "";
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const d = document.createElement("details");
      const s = document.createElement("summary");
      const m = document.createElement("span");
      m.className = "m " + method; m.textContent = method.toUpperCase();
      const p = document.createElement("code"); p.textContent = path;
      s.append(m, p, " \\u2014 " + (op.summary || ""));
      const body = document.createElement("pre");
      body.textContent = JSON.stringify(op, null, 2);
      const text = document.createElement("p"); text.textContent = op.description || "";
      d.append(s, text, body);
      ops.append(d);
    }
  }
}).catch(e => { document.getElementById("ops").textContent = "Could not load openapi.json: " + e; });
"""
