"""Access tokens: short-lived HS256 JWTs with a unique id, revocable on logout."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.errors import Unauthorized
from comprimemelo.models import RevokedToken, utcnow

ALGORITHM = "HS256"
ISSUER = "comprimemelo"


@dataclass(frozen=True)
class Claims:
    user_id: int
    jti: str
    expires_at: dt.datetime


class Tokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self.ttl_seconds = ttl_seconds

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

    def decode(self, token: str, session: Session) -> Claims:
        """The verified claims of ``token``.

        :raise Unauthorized: if it is malformed, signed with another key or
            algorithm, expired, or revoked.
        """
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "jti", "exp", "iat", "iss"]},
            )
            claims = Claims(
                user_id=int(payload["sub"]),
                jti=str(payload["jti"]),
                expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.timezone.utc),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired", code="token_expired") from None
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthorized("invalid token", code="invalid_token") from None
        if session.get(RevokedToken, claims.jti) is not None:
            raise Unauthorized("token revoked", code="token_revoked")
        return claims

    @staticmethod
    def revoke(claims: Claims, session: Session) -> None:
        session.add(RevokedToken(jti=claims.jti, expires_at=claims.expires_at))
        try:
            session.commit()
        except IntegrityError:  # revoked twice: already done
            session.rollback()
        session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
        session.commit()
