"""One commerce interface, several doors: in-process (service layer), HTTP (httpx), a
recorder, and a fake; one operation table (:mod:`api.client.operations`) drives them."""

from api.client.base import CommerceClient, CommerceError, OperationClient

__all__ = ["CommerceClient", "CommerceError", "OperationClient"]
