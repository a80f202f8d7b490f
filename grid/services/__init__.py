"""Every write to the grid goes through a function here (one per action).

Modules: generations (create/activate), importer (boundary files), validation (the report),
generator (split a community into cells), demo (the demo district), locate (points → cells).
"""
