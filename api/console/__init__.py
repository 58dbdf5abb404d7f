"""The merchant console: server-rendered pages under ``/console`` for the admin role.

Pages call the GraphQL schema in-process (and the domain for what the schema does not serve),
so the console applies the API's rules and shows its messages. Assets ship with the package:
htmx for small in-page updates, uPlot for the charts; no CDN, no build step.
"""
