SELECT oin FROM organisations WHERE brin = $1
