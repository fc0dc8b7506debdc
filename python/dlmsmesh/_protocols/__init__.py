"""The backend contract: one ``typing.Protocol`` per backend layer module.

``dlmsmesh._pure.<layer>`` and ``dlmsmesh._native.<layer>`` both satisfy
``dlmsmesh._protocols.<layer>.Backend`` (names, parameter names, kinds and
defaults: ``tests/test_backend_contract.py`` checks every one against both),
and the layer modules call a backend only through these types
(``dlmsmesh._backend.live.<layer>``).  A protocol holds exactly what the code
above the backends calls; helpers a backend shares with its own siblings are
not part of it.

Like ``dlmsmesh._common``, this package sits below the backends: it imports
only the data model.
"""
