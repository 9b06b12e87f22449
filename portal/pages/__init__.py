"""One module per page of the portal, each with its routes."""
