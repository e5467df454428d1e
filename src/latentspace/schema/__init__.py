"""The params schema, one module per section of params.yaml.

Each module holds ``SECTION`` (its keys and what each allows), and where needed ``check(p)``
(checks across keys, given all validated params) and ``SWITCHED_OFF`` (the keys whose 0 or empty
list turns an output off, and what the outputs hold then). :func:`latentspace.params.validate`
checks them all; a stage's ``dvc.yaml`` deps name only the modules of the sections it reads.
"""
