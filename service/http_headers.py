"""Headers on every answer: its request id, no MIME sniffing, who may cache it, and that it varies with the token.

Caching: an answer to a request that carried a token or a cookie, any error and any write is
`no-store` (it may hold what only that token may see). A public read is `no-cache`:
a cache may keep it but must revalidate it (ETag / If-None-Match) before reuse,
so a retraction is never hidden behind a stale copy.

They are added by WSGI middleware around the Flask app, to the header list as it is sent,
rather than by after_request hooks: Werkzeug's Headers check every value, rescan the list at
every change and raise a KeyError for every header they look for and miss. Here it is one
pass over the list and a few appends, and a single claim's read costs 9% fewer instructions
(1.27M -> 1.15M, docs/benchmarks.md). Answers gunicorn gives itself (service.workers) carry the same.
"""

from .observability import REQUEST_ID_HEADER, REQUEST_ID_KEY, request_id_of

SAFE_METHODS = ("GET", "HEAD")


class AnswerHeaders:
    """WSGI middleware: gives each request its id (service.observability) and each answer the headers above."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = environ[REQUEST_ID_KEY] = request_id_of(environ)

        def start(status, headers, exc_info=None):
            add_answer_headers(environ, int(status[:3]), headers, request_id)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def add_answer_headers(environ, status, headers, request_id):
    """Add to a WSGI header list: nosniff, Cache-Control (unless a page outside the API chose one), Authorization
    among the Vary names, and the request id."""
    where = {name.lower(): i for i, (name, _) in reversed(list(enumerate(headers)))}  # the first of each name
    _put(headers, where, "X-Content-Type-Options", "nosniff")
    if environ.get("PATH_INFO", "").startswith("/v1/") or "cache-control" not in where:
        _put(headers, where, "Cache-Control", cache_control(environ, status))
    vary = where.get("vary")
    if vary is None:
        headers.append(("Vary", "Authorization"))
    elif "authorization" not in {name.strip().lower() for name in headers[vary][1].split(",")}:
        headers[vary] = (headers[vary][0], f"{headers[vary][1]}, Authorization")
    _put(headers, where, REQUEST_ID_HEADER, request_id)


def _put(headers, where, name, value):
    """Set a header: in place of the first of its name, else at the end."""
    i = where.get(name.lower())
    if i is None:
        headers.append((name, value))
    else:
        headers[i] = (name, value)


def cache_control(environ, status):
    """The Cache-Control an answer of this status to this request should carry."""
    public_read = (
        environ.get("REQUEST_METHOD") in SAFE_METHODS
        and "HTTP_AUTHORIZATION" not in environ
        and not environ.get("HTTP_COOKIE")  # a web session's pages are as private as a token's answers
        and status in (200, 304)
    )
    return "no-cache" if public_read else "no-store"
