"""``escalation-service migrate | api | worker``."""

from collections_common.service import entrypoint
from escalation_service.bootstrap import SERVICE

main = entrypoint(SERVICE)

if __name__ == "__main__":
    main()
