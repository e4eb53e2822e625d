"""``agency-gateway-service migrate | api | worker``."""

from agency_gateway.bootstrap import SERVICE
from collections_common.service import entrypoint

main = entrypoint(SERVICE)

if __name__ == "__main__":
    main()
