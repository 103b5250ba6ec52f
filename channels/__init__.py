"""The edge: outside world <-> crm.types. Pure translators plus I/O clients."""
