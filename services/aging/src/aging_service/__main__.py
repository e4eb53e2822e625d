"""``aging-service migrate | api | worker``."""

from aging_service.bootstrap import SERVICE
from collections_common.service import entrypoint

main = entrypoint(SERVICE)

if __name__ == "__main__":
    main()
