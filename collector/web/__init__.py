"""The web pages on port 5000: the trace explorer and the Review App.

Server-rendered (Jinja2 templates, one per page) so reading works with JavaScript off; each page
adds one small plain ``.js`` file for what needs it (keyboard shortcuts, the assessments panel).
Every page's data comes from the same ``store.queries`` functions as the REST API, and the page
URL with ``.json`` appended returns that data (Datasette's JSON twin). Nothing here is fetched
from the network: templates, CSS and JS are served by the collector itself.
"""
