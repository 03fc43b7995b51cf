"""OPC UA: the node map derived from the profiles, the client transport and its certificates."""
