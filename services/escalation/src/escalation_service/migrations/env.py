from collections_common.migrations import run_env
from escalation_service.adapters.orm import metadata

run_env(metadata)
