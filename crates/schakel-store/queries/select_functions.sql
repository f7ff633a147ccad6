SELECT function FROM functions WHERE oin = $1 ORDER BY function
