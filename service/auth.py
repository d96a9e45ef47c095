"""Bearer tokens with scopes: random, shown once, stored as SHA-256 hashes, compared in constant time.

A token reads `rpt_<key id>_<secret>`. The key id finds the row; only the
secret's hash is stored, and it is compared with hmac.compare_digest.
"""

import functools
import hashlib
import hmac
import re
import secrets
from copy import deepcopy

from flask import current_app, g, request
from flask_smorest.utils import deepupdate
from peewee import IntegrityError

from . import sql
from .clock import utcnow
from .db import db
from .models import SCOPES, Token
from .problems import Problem
from .ratelimit import check_auth_failures, count_auth_failure

PREFIX = "rpt"
KEY_ID = re.compile(r"[0-9a-f]{16}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def hash_secret(secret):
    """The stored form of a token's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(name, scope):
    """Store a new token and return its plaintext, which is never stored or shown again."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if not NAME.fullmatch(name):
        raise ValueError("a token name is 1-100 letters, digits, '.', '_' or '-'")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    try:
        with db.atomic():
            Token.create(name=name, key_id=key_id, secret_hash=hash_secret(secret), scope=scope, created_at=utcnow())
    except IntegrityError:
        raise ValueError(f"a token named {name!r} exists already") from None
    return f"{PREFIX}_{key_id}_{secret}"


def revoke_token(name):
    """Revoke a token by name; False if there is no such live token."""
    with db.atomic():
        updated = (Token
                   .update(revoked_at=utcnow())
                   .where(Token.name == name, Token.revoked_at.is_null())
                   .execute())
    return updated > 0


def find_token(presented):
    """The live Token a presented string belongs to, or None."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    # Checked before any query: nothing odd (a NUL, say) ever reaches the database.
    if prefix != PREFIX or not KEY_ID.fullmatch(key_id) or not secret or len(presented) > 200:
        return None
    token = live_token(key_id)
    return token if token is not None and hmac.compare_digest(token.secret_hash, hash_secret(secret)) else None


# The Token last made from each key id's row, kept with that row: a request whose row reads the same reuses it.
_MADE = {}
TOKENS_KEPT = 1024


def live_token(key_id):
    """The live Token with this key id, or None: what a web session, which keeps only the key id, acts as.

    Every request reads the token's row, so a revocation takes effect at once in every
    worker of every instance: nothing is remembered between requests but the SQL text
    (one point read on the request's connection, by the unique key id) and the Token made
    from a row, reused while the row reads the same (a revocation changes it). That read
    costs less than any check that the remembered token still stands would.
    """
    if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
        return None
    [row] = sql.select_rows(Token, f"key_id = {sql.param()}", [key_id]) or [None]
    if row is None:
        return None
    made = _MADE.get(key_id)
    if made is None or made[0] != row:
        if len(_MADE) >= TOKENS_KEPT:
            _MADE.clear()
        made = _MADE[key_id] = (row, sql.instance(Token, row))
    token = made[1]
    return token if token.revoked_at is None else None


def allows(token, scope):
    """Whether a token (or None, for nobody) holds `scope`; each scope includes the ones before it."""
    return token is not None and SCOPES.index(token.scope) >= SCOPES.index(scope)


def _unauthorized(detail, error="invalid_token"):
    challenge = f'Bearer realm="reportedly", error="{error}"' if error else 'Bearer realm="reportedly"'
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def authenticate():
    """before_request: a presented token must be valid everywhere, public reads included."""
    g.token = None
    header = request.environ.get("HTTP_AUTHORIZATION")  # the header, as request.headers would give it
    if header is None:
        if request.method == "OPTIONS" and not current_app.config["PUBLIC_READS"]:
            raise _unauthorized("This request needs a bearer token.", None)
        return
    # Counted before the lookup: guessing tokens costs the guesser, not the database.
    check_auth_failures()
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        count_auth_failure()
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
    g.token = find_token(presented.strip())
    if g.token is None:
        count_auth_failure()
        raise _unauthorized("The token is unknown or revoked.")


def requires(scope):
    """Decorate a view: the caller's token must hold `scope` (reads may be public)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            token = g.get("token")
            if token is None:
                if scope == "read" and current_app.config["PUBLIC_READS"]:
                    return view(*args, **kwargs)
                raise _unauthorized("This request needs a bearer token.", None)
            if not allows(token, scope):
                raise Problem(403, f"This request needs the {scope!r} scope; the token has {token.scope!r}.")
            return view(*args, **kwargs)

        # Reads are documented as open or token-bearing; writes as token-bearing only.
        security = [{}, {"bearerAuth": []}] if scope == "read" else [{"bearerAuth": []}]
        return documented(security=security)(wrapper)

    return decorator


def documented(**description):
    """Decorate a view: what flask-smorest's Blueprint.doc adds to its OpenAPI operation, on the view itself.

    flask-smorest wraps the view in a function that only calls it (through a lookup of the
    current app), to hold a copy of the description; the view here gets that copy. Every
    API view has two of these (its scope, here, and its operationId), run at every request.
    """
    def decorator(view):
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), description)
        view._apidoc = apidoc
        return view

    return decorator
