"""The HTTP driving adapter (CONTRACT.md §10): the JSON API under /api/v1/ and the
partner web console at /, over the same store and the same handlers as the CLI.

It adds authentication (tokens, `engine.tokens`) and scoping (`web.access`), nothing
else: every body is the matching command's `--json` output. `web.app.create_app`
builds the ASGI app; `billing web` serves it with uvicorn.

Adding a feature's endpoints (statements, accounts, …): a module `web/api_<feature>.py`
with Litestar route handlers that check access (`web.access.require_read` /
`require_write`, naming a kind listed there), parse parameters with `web.params`, call
the feature's handler through `web.route_support.call` and return its result (a
`Refused` becomes a 409 with its code); list its `ROUTES` in `web.app.API_ROUTES`, then
`python -m web.openapi_export` refreshes `schemas/openapi.json`. A console page: its
gather function (`web.pages_*`) and template in `web.console_features.PAGES` with its
route, the forms it posts in `web.console_actions`, its key in
`web.console.FEATURE_PAGES`; the nav entry is in `web.nav.NAV` already.

Writes run one at a time per process in a worker thread (`route_support.act`); POST
/transfers commits the transfers that arrive together in one transaction
(`web.transfer_queue`).
"""
