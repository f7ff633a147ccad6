SELECT oin FROM organisations WHERE gemeentecode = $1
