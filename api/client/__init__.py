"""One commerce interface, two doors: in-process (service layer) and HTTP (httpx)."""

from api.client.base import CommerceClient, CommerceError

__all__ = ["CommerceClient", "CommerceError"]
