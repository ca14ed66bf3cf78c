"""Access tokens: short-lived HS256 JWTs with a unique id, revocable on logout."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import Unauthorized
from comprimemelo.domain.models import RevokedToken, User, utcnow

ALGORITHM = "HS256"
ISSUER = "comprimemelo"
# Every authenticated request asks this: a prebuilt Core query, since ORM
# loading (``session.get``) was a fifth of a task list's cost. It reads the
# caller's task-list version too: the dashboard's poll needs both, and one
# statement is one round trip to the database instead of two. Two scalar
# subqueries, so there is always exactly one row.
CHECK_CALLER = sa.select(
    sa.select(RevokedToken.jti).where(RevokedToken.jti == sa.bindparam("jti")).scalar_subquery(),
    sa.select(User.tasks_version).where(User.id == sa.bindparam("user_id")).scalar_subquery(),
)
# The same check for many callers in one statement, on PostgreSQL (``unnest``
# of two arrays, in order): the dashboard's poll checks concurrent callers in
# batches (db/batches.py). One row per caller, in the callers' order. The
# arrays are cast in SQL, so their binds need no type processing.
_CALLERS = sa.func.unnest(
    sa.cast(sa.bindparam("jtis"), ARRAY(RevokedToken.jti.type)),
    sa.cast(sa.bindparam("user_ids"), ARRAY(User.id.type)),
).table_valued("jti", "user_id", with_ordinality="n").render_derived()
CHECK_CALLERS = (
    sa.select(RevokedToken.jti, User.tasks_version)
    .select_from(_CALLERS.outerjoin(RevokedToken, RevokedToken.jti == _CALLERS.c.jti)
                 .outerjoin(User, User.id == _CALLERS.c.user_id))
    .order_by(_CALLERS.c.n)
)
VERIFIED_CACHE_SIZE = 4096


def check_callers_by(rows: Callable[[dict], Sequence[Sequence]]) -> Callable[[Sequence[Mapping]], Sequence[Sequence]]:
    """``CHECK_CALLER`` for many callers' parameters at once, where ``rows(params)`` runs
    ``CHECK_CALLERS`` (a ``db.driver_statement.DriverStatement``'s ``all``)."""

    def check(callers: Sequence[Mapping]) -> Sequence[Sequence]:
        return rows({"jtis": [caller["jti"] for caller in callers],
                     "user_ids": [caller["user_id"] for caller in callers]})

    return check


@dataclass(frozen=True)
class Claims:
    user_id: int
    jti: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as the database saw them when it was checked."""

    claims: Claims
    # ``users.tasks_version`` at the check: the version a cached task list
    # must match (web/tasklists.py).
    tasks_version: int


class Tokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self.ttl_seconds = ttl_seconds
        # A client sends its token with every request: verify each one once
        # per process (parsing and checking it was a sixth of a task list).
        # Expiry and revocation are still checked on every use.
        self._verified = functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)(self._verify)

    def issue(self, user_id: int) -> str:
        now = utcnow()
        payload = {
            "sub": str(user_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + dt.timedelta(seconds=self.ttl_seconds),
            "iss": ISSUER,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def _verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "jti", "exp", "iat", "iss"]},
            )
            return Claims(
                user_id=int(payload["sub"]),
                jti=str(payload["jti"]),
                expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.timezone.utc),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthorized("invalid token", code="invalid_token") from None

    def decode(self, token: str, connection: Connection) -> Claims:
        """The verified claims of ``token``.

        :raise Unauthorized: if it is malformed, signed with another key or
            algorithm, expired, or revoked, or its account is gone.
        """
        return self.authenticate(token, connection).claims

    def authenticate(self, token: str, connection: Connection) -> Caller:
        """``decode``, with the caller's task-list version read in the same statement.

        :raise Unauthorized: as ``decode``, or if the account no longer exists.
        """
        return self.authenticate_by(token, lambda params: connection.execute(CHECK_CALLER, params).one())

    def authenticate_by(self, token: str, check: Callable[[dict], Sequence]) -> Caller:
        """``authenticate``, where ``check(params)`` runs ``CHECK_CALLER`` and returns its row
        (the dashboard's poll runs it as a ``db.driver_statement.DriverStatement``).
        """
        claims = self._verified(token)
        if claims.expires_at <= utcnow():
            raise Unauthorized("token expired", code="token_expired")
        revoked, tasks_version = check({"jti": claims.jti, "user_id": claims.user_id})
        if revoked is not None:
            raise Unauthorized("token revoked", code="token_revoked")
        if tasks_version is None:
            raise Unauthorized("the account no longer exists", code="account_deleted")
        return Caller(claims, tasks_version)

    @staticmethod
    def revoke(claims: Claims, session: Session) -> None:
        session.add(RevokedToken(jti=claims.jti, expires_at=claims.expires_at))
        try:
            session.commit()
        except IntegrityError:  # revoked twice: already done
            session.rollback()
        session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
        session.commit()
