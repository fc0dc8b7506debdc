"""The native backend: thin Python around ``dlmsmesh._core`` (the C core)."""
