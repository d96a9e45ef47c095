"""Headers on every answer: no MIME sniffing, who may cache it, and that it varies with the token.

Caching: an answer to a request that carried a token or a cookie, any error and any write is
`no-store` (it may hold what only that token may see). A public read is `no-cache`:
a cache may keep it but must revalidate it (ETag / If-None-Match) before reuse,
so a retraction is never hidden behind a stale copy.
"""

from flask import request

SAFE_METHODS = ("GET", "HEAD")


def cache_control(response):
    """The Cache-Control this answer should carry, unless a view chose one already."""
    environ = request.environ  # a header looked up through Werkzeug costs an exception when it is missing
    public_read = (
        request.method in SAFE_METHODS
        and "HTTP_AUTHORIZATION" not in environ
        and not environ.get("HTTP_COOKIE")  # a web session's pages are as private as a token's answers
        and response.status_code in (200, 304)
    )
    return "no-cache" if public_read else "no-store"


def add_security_headers(response):
    """after_request: nosniff, Cache-Control and Vary: Authorization on every answer."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if request.path.startswith("/v1/") or "Cache-Control" not in headers:
        headers["Cache-Control"] = cache_control(response)
    if "Vary" in headers:
        response.vary.add("Authorization")
    else:
        headers["Vary"] = "Authorization"
    return response
