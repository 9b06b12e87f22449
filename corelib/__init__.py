"""Mechanisms every Payment Engine process shares: config, logging, database, gRPC
bootstrap, interceptors, errors, ids, money. It holds no domain rules."""
