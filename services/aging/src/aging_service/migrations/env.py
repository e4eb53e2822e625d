from aging_service.adapters.orm import metadata
from collections_common.migrations import run_env

run_env(metadata)
