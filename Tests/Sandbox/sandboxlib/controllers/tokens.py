"""The token controller: fills Secrets of type kubernetes.io/service-account-token (annotation
kubernetes.io/service-account.name) with `token`, `ca.crt` and `namespace`, as the real
kube-controller-manager does, once their ServiceAccount exists."""

from ..serviceaccounts import TOKEN_TYPE
from .base import Controller, is_conflict


class TokenSecretController(Controller):
    name = "tokens"

    def __init__(self, store, issuer):
        super().__init__(store, None)
        self.issuer = issuer

    def keys_for(self, event, obj):
        if event == "DELETED":
            return []
        if obj.get("kind") == "Secret" and obj.get("type") == TOKEN_TYPE:
            return [(obj["metadata"]["namespace"], obj["metadata"]["name"])]
        if obj.get("kind") == "ServiceAccount":
            ns = obj["metadata"]["namespace"]
            return self.store.keys("Secret", ns, where=lambda s: s.get("type") == TOKEN_TYPE)
        return []

    def all_keys(self):
        return self.store.keys("Secret", where=lambda s: s.get("type") == TOKEN_TYPE)

    def reconcile(self, key, forced):
        secret = self.store.get("Secret", *key)
        if secret is None:
            return
        filled = self.issuer.fill_secret(self.store, secret)
        if filled is None:
            return
        try:
            self.store.update(filled)
        except Exception as e:  # noqa: BLE001 - a conflict means someone wrote it: look again
            if not is_conflict(e):
                raise
            self.enqueue(key, after=0.05)
