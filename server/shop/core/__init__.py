"""The ground floor: domain errors and their codes, the versioned cache and its Memcached client,
ETags, the log format. Imported by every other package; imports none of them, and nothing HTTP."""
