"""``contact-service migrate | api | worker``."""

from collections_common.service import entrypoint
from contact_service.bootstrap import SERVICE

main = entrypoint(SERVICE)

if __name__ == "__main__":
    main()
