DELETE FROM certificate_bindings WHERE sha256 = $1
