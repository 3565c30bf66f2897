"""ServiceAccount tokens: issued by TokenRequest (`kubectl create token SA`) and by the token
controller for Secrets of type kubernetes.io/service-account-token; checked on every request.

Tokens are JWTs with the real claims (iss, sub, aud, exp, kubernetes.io.{namespace,
serviceaccount, secret}), signed HS256 with a key that lives only in the sandbox process (the
real server signs RS256/ES256 with its service-account key; clients never look inside). As real,
a token stops working when its ServiceAccount (or the Secret it is bound to) is deleted or
re-created with another uid.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time

from .rbac import UserInfo

ISSUER = "https://kubernetes.default.svc.cluster.local"
TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def service_account_user(namespace: str, name: str) -> UserInfo:
    return UserInfo(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"))


class TokenIssuer:
    """Signs and verifies service-account tokens for one sandbox."""

    def __init__(self, ca_pem: bytes):
        self._key = secrets.token_bytes(32)
        self.ca_pem = ca_pem

    def issue(self, sa: dict, expiration_seconds: int | None = None, audiences=None, secret: dict | None = None) -> tuple:
        """(token, expiry epoch or None) for ServiceAccount `sa`; bound to `secret` when given
        (legacy token Secrets never expire)."""
        md = sa["metadata"]
        now = int(time.time())
        claims = {"aud": list(audiences or [ISSUER]), "iat": now, "iss": ISSUER, "nbf": now,
                  "sub": f"system:serviceaccount:{md['namespace']}:{md['name']}",
                  "kubernetes.io": {"namespace": md["namespace"],
                                    "serviceaccount": {"name": md["name"], "uid": md["uid"]}}}
        exp = None
        if secret is not None:
            claims["kubernetes.io"]["secret"] = {"name": secret["metadata"]["name"], "uid": secret["metadata"]["uid"]}
        else:
            exp = now + (expiration_seconds or 3600)
            claims["exp"] = exp
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}", exp

    def authenticate(self, token: str, store) -> UserInfo | None:
        """The ServiceAccount user of a valid token, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        want = _b64(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want.encode(), parts[2].encode()):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            k = claims["kubernetes.io"]
            ns, name, uid = k["namespace"], k["serviceaccount"]["name"], k["serviceaccount"]["uid"]
        except (ValueError, KeyError, TypeError):
            return None
        if claims.get("exp") is not None and claims["exp"] < time.time():
            return None
        sa = store.get("ServiceAccount", ns, name)
        if sa is None or sa["metadata"].get("uid") != uid:
            return None
        bound = k.get("secret")
        if bound is not None:
            sec = store.get("Secret", ns, bound.get("name"))
            if sec is None or sec["metadata"].get("uid") != bound.get("uid"):
                return None
        return service_account_user(ns, name)

    def token_request(self, store, namespace: str, name: str, review: dict) -> dict:
        """The answer to POST serviceaccounts/NAME/token (a TokenRequest with status.token)."""
        sa = store.get("ServiceAccount", namespace, name)
        if sa is None:
            from .store import not_found
            raise not_found("ServiceAccount", name)
        spec = review.get("spec") or {}
        token, exp = self.issue(sa, spec.get("expirationSeconds") or 3600, spec.get("audiences"))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace,
                             "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "spec": {"audiences": spec.get("audiences") or [ISSUER],
                         "expirationSeconds": spec.get("expirationSeconds") or 3600, "boundObjectRef": None},
                "status": {"token": token, "expirationTimestamp": stamp}}

    def fill_secret(self, store, secret: dict) -> dict | None:
        """The token Secret with `token`, `ca.crt` and `namespace` filled in, or None when it is
        not a token Secret waiting for them (or its ServiceAccount does not exist)."""
        md = secret["metadata"]
        sa_name = (md.get("annotations") or {}).get(SA_NAME_ANNOTATION)
        if secret.get("type") != TOKEN_TYPE or not sa_name or (secret.get("data") or {}).get("token"):
            return None
        sa = store.get("ServiceAccount", md["namespace"], sa_name)
        if sa is None:
            return None
        token, _ = self.issue(sa, secret=secret)
        md.setdefault("annotations", {})[SA_UID_ANNOTATION] = sa["metadata"]["uid"]
        data = dict(secret.get("data") or {})
        data["token"] = base64.b64encode(token.encode()).decode()
        data["ca.crt"] = base64.b64encode(self.ca_pem).decode()
        data["namespace"] = base64.b64encode(md["namespace"].encode()).decode()
        secret["data"] = data
        return secret
