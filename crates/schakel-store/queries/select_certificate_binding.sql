SELECT sha256, oin, function, not_after FROM certificate_bindings WHERE sha256 = $1
