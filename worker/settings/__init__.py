"""What the user writes in config.yaml: frozen models, read from YAML with the line of
every key, `${ENV}` filled in, each mistake named as `FILE:LINE: key: what is wrong`."""
