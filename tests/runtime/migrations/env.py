from collections_common.migrations import run_env
from tests.runtime.ledger_service import metadata

run_env(metadata)
