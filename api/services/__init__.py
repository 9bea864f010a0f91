"""Use cases of the commerce service: one module per resource, each function taking the
environment (:class:`api.services.context.ServiceContext`) and the caller (``Principal``)."""
