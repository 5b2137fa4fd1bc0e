"""uniroute in the request path of gateways.

- :mod:`uniroute.integrations.decision` -- one routing decision for one request (text in,
  model and explanation out), shared by every integration and by ``uniroute serve``;
- :mod:`uniroute.integrations.litellm` -- a LiteLLM ``RoutingPlugin``
  (``pip install "uniroute[litellm]"``).

Nothing here is imported by ``import uniroute``; LiteLLM is imported only by its module.
"""
