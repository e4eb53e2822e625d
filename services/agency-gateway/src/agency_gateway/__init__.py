"""The agency-gateway service: the internet-facing API through which collection agencies
work their placed cases."""
