"""The developer portal: server-rendered pages on the engine's public REST v1 API only."""
