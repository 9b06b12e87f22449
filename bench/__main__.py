"""`python -m bench`: see bench/README.md."""

import os

from corelib.grpc_experiments import with_engine_grpc_experiments

# The load generator's own gRPC clients cost the engine's two cores what they spend per
# call, so they run with the engine's experiments too; gRPC reads them at import.
os.environ.update(with_engine_grpc_experiments(os.environ))

from bench.runner import main

raise SystemExit(main())
