"""The HTTP driving adapter (CONTRACT.md §10): the JSON API under /api/v1/ and the
partner web console at /, over the same store and the same handlers as the CLI.

It adds authentication (tokens, `engine.tokens`) and scoping (`web.access`), nothing
else: every body is the matching command's `--json` output. `web.app.create_app`
builds the ASGI app; `billing web` serves it with uvicorn.
"""
